"""The status filter of the list query and the list subscription, defined once, and the list's
ordering.

Each input field has one rule, the rows it keeps (a ``Q``); a live event is judged by evaluating
that same ``Q`` on the event's columns, so a list and its subscription can never disagree. The
strawberry-django filter type applies the rules as a whole (its object ``filter`` method), which
also gives ``topLevel`` its default: true when absent or null.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable
from typing import Any, cast

import strawberry
import strawberry_django
from django.db.models import Q, QuerySet
from strawberry.types import Info

from ..core.models import UserTaskStatus
from ..core.states import ACTIVE_STATES, FINISHED_STATES, UserTaskState
from .types import UserTaskStateEnum

Event = dict[str, Any]


def _states(value: list[Any]) -> set[str]:
    return {UserTaskState(state).value for state in value}


# input field -> the rows it keeps, for a value that is neither absent nor null
RULES: dict[str, Callable[[Any], Q]] = {
    "state": lambda v: Q(state__in=_states(v)),
    "name_contains": lambda v: Q(name__icontains=v),
    "task_class": lambda v: Q(task_class=v),
    "active": lambda v: Q(state__in=ACTIVE_STATES if v else FINISHED_STATES),
    "top_level": lambda v: Q(parent__isnull=True) if v else Q(),
    "created_after": lambda v: Q(created__gt=v),
    "created_before": lambda v: Q(created__lt=v),
}
# what an event holds of each column the rules read, and each lookup they use, as the database reads them
EVENT_COLUMNS: dict[str, Callable[[Event], Any]] = {
    "state": lambda e: e["state"],
    "name": lambda e: e["name"],
    "task_class": lambda e: e["task_class"],
    "parent": lambda e: e.get("parent_uuid"),
    "created": lambda e: datetime.datetime.fromisoformat(e["created"]),
}
LOOKUPS: dict[str, Callable[[Any, Any], bool]] = {
    "exact": lambda value, arg: bool(value == arg),
    "in": lambda value, arg: value in arg,
    "icontains": lambda value, arg: arg.casefold() in value.casefold(),
    "isnull": lambda value, arg: (value is None) == arg,
    "gt": lambda value, arg: bool(value > arg),
    "lt": lambda value, arg: bool(value < arg),
}
DEFAULTS = {"top_level": True}


@strawberry_django.filter_type(UserTaskStatus, name="UserTaskStatusFilter")
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

    @strawberry_django.filter_field
    def filter(self, info: Info, queryset: QuerySet[Any], prefix: str) -> tuple[QuerySet[Any], Q]:
        if _value(self, "DISTINCT"):
            queryset = queryset.distinct()
        return queryset, filter_q(self, prefix)


def _given(filters: UserTaskStatusFilter | None, defaults: dict[str, Any]) -> dict[str, Any]:
    """Each rule's value: the filter's where it gives one, else the default (if any)."""
    values = dict(defaults)
    for name in RULES:
        value = _value(filters, name)
        if value is not None:
            values[name] = value
    return values


def _value(filters: UserTaskStatusFilter | None, name: str) -> Any:
    value = getattr(filters, name, None)
    return None if value is strawberry.UNSET else value


def filter_q(filters: UserTaskStatusFilter | None, prefix: str = "", defaults: dict[str, Any] = DEFAULTS) -> Q:
    """The rows the filter keeps; absent or null fields do not filter, ``topLevel`` defaults to true
    (at the top: not inside ``AND``, ``OR``, ``NOT``, which combine as strawberry-django's do)."""
    q = Q()
    for name, value in _given(filters, defaults).items():
        q &= RULES[name](value)
    if (both := _value(filters, "AND")) is not None:
        q &= filter_q(both, defaults={})
    if (negated := _value(filters, "NOT")) is not None:
        q &= ~filter_q(negated, defaults={})
    if (either := _value(filters, "OR")) is not None:
        q |= filter_q(either, defaults={})
    return _prefixed(q, prefix) if prefix else q


def _prefixed(q: Q, prefix: str) -> Q:
    """``q`` on a relation's rows: where a host's filter nests ours under one of its relations."""
    copy = Q()
    copy.connector, copy.negated = q.connector, q.negated
    copy.children = [
        (f"{prefix}{child[0]}", child[1]) if isinstance(child, tuple) else _prefixed(cast(Q, child), prefix)
        for child in q.children
    ]
    return copy


def event_matches(filters: UserTaskStatusFilter | None, event: Event) -> bool:
    """The same filter on a live event: the very ``Q`` of ``filter_q``, evaluated on the event's
    columns (so ``AND``, ``OR``, ``NOT`` and empty parts combine exactly as in the query)."""
    return q_matches(filter_q(filters), event)


def q_matches(q: Q, event: Event) -> bool:
    results = (q_matches(child, event) if isinstance(child, Q) else _lookup(child, event) for child in q.children)
    matched = any(results) if q.connector == Q.OR else all(results)
    return not matched if q.negated else matched


def _lookup(condition: Any, event: Event) -> bool:
    path, arg = condition
    column, _, lookup = path.partition("__")
    return LOOKUPS[lookup or "exact"](EVENT_COLUMNS[column](event), arg)


@strawberry_django.order_type(UserTaskStatus, name="UserTaskStatusOrder")
class UserTaskStatusOrder:
    """Sort the list by these (one field per entry, the first entry first); newest first without."""

    created: strawberry.auto
    modified: strawberry.auto
    name: strawberry.auto
    completed_steps: strawberry.auto
