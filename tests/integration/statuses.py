"""Reading statuses and stopped signals that real workers write."""

from __future__ import annotations

from tests.testapp.models import StoppedSignal
from user_tasks_graphql.models import UserTaskStatus

from .conftest import wait_for


def status_of(task_id: str) -> UserTaskStatus:
    return UserTaskStatus.objects.get(task_id=task_id)


def finished(task_id: str, timeout: float = 30.0) -> UserTaskStatus:
    return wait_for(lambda: (s := status_of(task_id)).is_finished and s, timeout, f"task {task_id} to finish")


def stops_of(*task_ids: str) -> list[str]:
    return list(StoppedSignal.objects.filter(task_id__in=task_ids).values_list("state", flat=True))


def stops_sent(task_id: str) -> list[str]:
    """The stopped signals of a task, once its receiver has written one: the signal is sent right
    after the final state's commit, so a test that saw the state may look a moment too early."""
    wait_for(lambda: stops_of(task_id), 5, "the stopped signal")
    return stops_of(task_id)
