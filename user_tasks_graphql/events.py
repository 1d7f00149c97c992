"""A status as a live event: a flat dict of primitives (msgpack-safe), with its sequence number.

Events are full states, so a client keeps the one with the highest ``seq`` and may miss any
in between. The groups route one event to the status's own subscribers, its owner's list
subscribers, and the subscribers who see everything.
"""

from __future__ import annotations

import datetime
import enum
import re
import uuid
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from django.db.models import F, Q

if TYPE_CHECKING:
    from .models import UserTaskStatus

EVENT_TYPE = "user_tasks.status"
_CANONICAL = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
ALL_GROUP = "user_tasks.all"
MAX_CATCH_UP = 10_000
GONE_SEQ = 2**62  # newer than any real sequence number: nothing follows a deletion
FIELDS = (
    "id", "uuid", "user_id", "task_id", "task_class", "name", "state", "state_text", "completed_steps",
    "total_steps", "attempts", "is_container", "created", "modified", "seq",
)  # fmt: skip


def status_group(status_uuid: uuid.UUID | str) -> str:
    if isinstance(status_uuid, str) and len(status_uuid) == 36 and _CANONICAL.fullmatch(status_uuid):
        return f"user_tasks.status.{status_uuid.replace('-', '')}"  # an event's uuid: no parsing per send
    return f"user_tasks.status.{uuid.UUID(str(status_uuid)).hex}"


def user_group(user_id: Any) -> str:
    return f"user_tasks.user.{user_id}"


def groups_for(event: dict[str, Any]) -> list[str]:
    return [status_group(event["uuid"]), user_group(event["user_id"]), ALL_GROUP]


_STATUS_PREFIX, _USER_PREFIX = status_group(uuid.UUID(int=0))[:-32], user_group("")


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


def load_events(pks: Iterable[int]) -> list[dict[str, Any]]:
    """The current rows as events: one query, whatever the number of rows."""
    from .models import UserTaskStatus

    rows = UserTaskStatus.objects.filter(pk__in=list(pks)).values(*FIELDS, parent_uuid=F("parent__uuid"))
    return [event_from_values(row) for row in rows]


def returning_clause(quote: Any, names: Iterable[str] = FIELDS) -> str:
    """``RETURNING`` these columns (by attribute name; the event's by default) of an UPDATE of the
    status table, and last the parent's uuid."""
    from .models import UserTaskStatus

    meta = UserTaskStatus._meta
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


def changed_since(since: float, groups: Iterable[str]) -> list[dict[str, Any]]:
    """The current events of the statuses ``groups`` route, changed after ``since`` (a timestamp),
    plus a deletion event for each status group whose status is gone: what a listener missed
    while the channel layer was away."""
    from .models import UserTaskStatus

    uuids, user_ids, everything = [], [], False
    for group in groups:
        if group == ALL_GROUP:
            everything = True
        elif group.startswith(_STATUS_PREFIX):
            uuids.append(uuid.UUID(group[len(_STATUS_PREFIX) :]))
        elif group.startswith(_USER_PREFIX):
            user_ids.append(group[len(_USER_PREFIX) :])
    changed = UserTaskStatus.objects.filter(modified__gte=datetime.datetime.fromtimestamp(since, datetime.UTC))
    if not everything:
        changed = changed.filter(Q(uuid__in=uuids) | Q(user_id__in=user_ids))
    events = load_events(changed.order_by("-modified").values_list("pk", flat=True)[:MAX_CATCH_UP])
    present = set(UserTaskStatus.objects.filter(uuid__in=uuids).values_list("uuid", flat=True))
    for gone in set(uuids) - present:
        events.append({"type": EVENT_TYPE, "deleted": True, "id": None, "uuid": str(gone), "user_id": None,
                       "seq": GONE_SEQ})  # fmt: skip
    return events


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
