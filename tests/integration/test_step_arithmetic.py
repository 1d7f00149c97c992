"""Step counts stay exact when several workers report progress into one container at once."""

from __future__ import annotations

import threading
import uuid
from typing import Any

import pytest
from django.db import connection
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from user_tasks_graphql.models import UserTaskStatus

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

increments_per_worker = st.lists(st.lists(st.integers(0, 40), max_size=15), min_size=2, max_size=4)


def _status(user: Any, parent: UserTaskStatus | None = None, kind: str | None = None) -> UserTaskStatus:
    return UserTaskStatus.objects.create(
        user=user,
        task_id=str(uuid.uuid4()),
        parent=parent,
        is_container=kind is not None,
        task_class=f"celery.{kind}" if kind else "tests.sample",
        name="x",
        total_steps=0,
        state=UserTaskStatus.IN_PROGRESS,
    )


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(plan=increments_per_worker)
def test_parallel_increments_sum_exactly_into_every_ancestor(services: Any, user: Any, plan: list[list[int]]):
    chord = _status(user, kind="chord")
    group = _status(user, parent=chord, kind="group")
    children = [_status(user, parent=group) for _ in plan]
    start = threading.Barrier(len(plan))
    errors: list[BaseException] = []

    def work(child: UserTaskStatus, steps: list[int]) -> None:
        try:
            start.wait()
            mine = UserTaskStatus.objects.get(pk=child.pk)
            for count in steps:
                mine.increment_completed_steps(count)
                mine.increment_total_steps(count)
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=work, args=(c, s)) for c, s in zip(children, plan, strict=True)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    for child, steps in zip(children, plan, strict=True):
        row = UserTaskStatus.objects.get(pk=child.pk)
        assert (row.completed_steps, row.total_steps) == (sum(steps), sum(steps))
    expected = sum(map(sum, plan))
    for container in (group, chord):
        row = UserTaskStatus.objects.get(pk=container.pk)
        assert (row.completed_steps, row.total_steps) == (expected, expected)
