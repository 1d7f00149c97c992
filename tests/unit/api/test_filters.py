"""The status filter, one definition for rows and live events: for every filter, the rows a list
returns are exactly the statuses whose events a list subscription lets through."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from django.utils import timezone

from user_tasks_graphql.core.events import load_events
from user_tasks_graphql.models import UserTaskStatus
from user_tasks_graphql.schema.filters import UserTaskStatusFilter, event_matches, filter_q
from user_tasks_graphql.schema.types import UserTaskStateEnum

from ..factories import make_container, make_status

F = UserTaskStatusFilter
NOW = timezone.now()
FILTERS = {
    "none": None,
    "empty": F(),
    "states": F(state=[UserTaskStateEnum.SUCCEEDED, UserTaskStateEnum.FAILED]),  # type: ignore[attr-defined]
    "no state": F(state=[]),
    "name": F(name_contains="EXPORT"),
    "class": F(task_class="celery.chain"),
    "active": F(active=True),
    "finished": F(active=False),
    "children too": F(top_level=False),
    "created after": F(created_after=NOW - datetime.timedelta(minutes=30), top_level=False),
    "created before": F(created_before=NOW - datetime.timedelta(minutes=30), top_level=False),
    "AND": F(name_contains="export", AND=F(active=True)),  # type: ignore[call-arg]
    "OR": F(name_contains="report", OR=F(task_class="celery.chain")),  # type: ignore[call-arg]
    "NOT": F(top_level=False, NOT=F(name_contains="export")),  # type: ignore[call-arg]
    "nested": F(top_level=False, OR=F(AND=F(active=False), NOT=F(name_contains="import"))),  # type: ignore[call-arg]
}


@pytest.fixture
def statuses(user: Any) -> list[UserTaskStatus]:
    hour_ago = NOW - datetime.timedelta(hours=1)
    chain = make_container(user, name="Export chain")
    made = [
        chain,
        make_status(user, name="Export one", state="Succeeded", parent=chain),
        make_status(user, name="Import two", state="Failed"),
        make_status(user, name="Report three", state="Pending"),
        make_status(user, name="export four", state="In Progress"),
    ]
    UserTaskStatus.objects.filter(name__in=["Import two", "Report three"]).update(created=hour_ago)
    return made


@pytest.mark.django_db
@pytest.mark.parametrize("name", FILTERS)
def test_rows_and_events_agree(statuses: list[UserTaskStatus], name: str):
    filters = FILTERS[name]
    rows = set(UserTaskStatus.objects.filter(filter_q(filters)).values_list("name", flat=True))
    events = load_events(UserTaskStatus, [status.pk for status in statuses])
    passed = {event["name"] for event in events if event_matches(filters, event)}
    assert rows == passed
    assert name in ("no state",) or rows, "each filter keeps something, so agreement is not vacuous"
