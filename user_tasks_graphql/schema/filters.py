"""The status filter of the list query and the list subscription, defined once, and the list's
ordering.

Each input field has one rule: how it narrows rows (a ``Q``) and how it judges a live event (the
event carries the row's columns), so a list and its subscription can never disagree. The
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


def _created(event: Event) -> datetime.datetime:
    return datetime.datetime.fromisoformat(event["created"])


# input field: (rows it keeps, events it keeps), for a value that is neither absent nor null
RULES: dict[str, tuple[Callable[[Any], Q], Callable[[Any, Event], bool]]] = {
    "state": (lambda v: Q(state__in=_states(v)), lambda v, e: e["state"] in _states(v)),
    "name_contains": (lambda v: Q(name__icontains=v), lambda v, e: v.casefold() in e["name"].casefold()),
    "task_class": (lambda v: Q(task_class=v), lambda v, e: e["task_class"] == v),
    "active": (
        lambda v: Q(state__in=ACTIVE_STATES if v else FINISHED_STATES),
        lambda v, e: (e["state"] in ACTIVE_STATES) == v,
    ),
    "top_level": (lambda v: Q(parent__isnull=True) if v else Q(), lambda v, e: not v or e.get("parent_uuid") is None),
    "created_after": (lambda v: Q(created__gt=v), lambda v, e: _created(e) > v),
    "created_before": (lambda v: Q(created__lt=v), lambda v, e: _created(e) < v),
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
        q &= RULES[name][0](value)
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


def event_matches(filters: UserTaskStatusFilter | None, event: Event, defaults: dict[str, Any] = DEFAULTS) -> bool:
    """The same filter, applied to a live event."""
    matches = all(RULES[name][1](value, event) for name, value in _given(filters, defaults).items())
    if (both := _value(filters, "AND")) is not None:
        matches = matches and event_matches(both, event, {})
    if (negated := _value(filters, "NOT")) is not None:
        matches = matches and not event_matches(negated, event, {})
    if (either := _value(filters, "OR")) is not None:
        matches = matches or event_matches(either, event, {})
    return matches


@strawberry_django.order_type(UserTaskStatus, name="UserTaskStatusOrder")
class UserTaskStatusOrder:
    """Sort the list by these (one field per entry, the first entry first); newest first without."""

    created: strawberry.auto
    modified: strawberry.auto
    name: strawberry.auto
    completed_steps: strawberry.auto
