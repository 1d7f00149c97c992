"""The status filter of the list query and the list subscription."""

from __future__ import annotations

import datetime

import strawberry
from django.db.models import Q

from ..core.states import ACTIVE_STATES, FINISHED_STATES, UserTaskState
from .types import UserTaskStateEnum


@strawberry.input(name="UserTaskStatusFilter")
class UserTaskStatusFilter:
    state: list[UserTaskStateEnum] | None = strawberry.field(  # type: ignore[valid-type]
        default=None, description="Any of these states."
    )
    name_contains: str | None = strawberry.field(default=None, description="Case-insensitive substring of name.")
    task_class: str | None = None
    active: bool | None = strawberry.field(default=None, description="true: only unfinished; false: only finished.")
    top_level: bool | None = strawberry.field(
        default=None, description="true (the default for the list query): only statuses without a parent."
    )
    created_after: datetime.datetime | None = None
    created_before: datetime.datetime | None = None


def filter_q(filters: UserTaskStatusFilter | None) -> Q:
    """The filter as a ``Q``; absent or null fields do not filter, ``topLevel`` defaults to true."""
    filters = filters or UserTaskStatusFilter()
    q = Q()
    if filters.state is not None:
        q &= Q(state__in=[UserTaskState(state).value for state in filters.state])
    if filters.name_contains is not None:
        q &= Q(name__icontains=filters.name_contains)
    if filters.task_class is not None:
        q &= Q(task_class=filters.task_class)
    if filters.active is not None:
        q &= Q(state__in=ACTIVE_STATES if filters.active else FINISHED_STATES)
    if filters.top_level is not False:
        q &= Q(parent__isnull=True)
    if filters.created_after is not None:
        q &= Q(created__gt=filters.created_after)
    if filters.created_before is not None:
        q &= Q(created__lt=filters.created_before)
    return q


def event_matches(filters: UserTaskStatusFilter | None, event: dict) -> bool:
    """The same filter, applied to a live event (``filter_q`` for rows)."""
    filters = filters or UserTaskStatusFilter()
    if filters.state is not None and event["state"] not in {UserTaskState(s).value for s in filters.state}:
        return False
    if filters.name_contains is not None and filters.name_contains.casefold() not in event["name"].casefold():
        return False
    if filters.task_class is not None and event["task_class"] != filters.task_class:
        return False
    if filters.active is not None and (event["state"] in ACTIVE_STATES) != filters.active:
        return False
    if filters.top_level is not False and event.get("parent_uuid") is not None:
        return False
    created = datetime.datetime.fromisoformat(event["created"])
    if filters.created_after is not None and not created > filters.created_after:
        return False
    return filters.created_before is None or created < filters.created_before
