"""PostgreSQL drops the worker's connection in the middle of a task (a failover, a restarted
pgbouncer, an administrator's pg_terminate_backend): the task must end cleanly, never stay In Progress."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.contrib.auth import get_user_model
from django.db import connection

from tests.integration.conftest import Worker, wait_for
from tests.testapp import tasks
from user_tasks_graphql.models import UserTaskStatus

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

STEPS = 20


APPLICATION = "user-tasks-dropped-worker"  # libpq's PGAPPNAME: only the worker's connections are dropped


def drop_worker_connections() -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE datname = current_database() AND application_name = %s",
            [APPLICATION],
        )
        return int(cursor.fetchone()[0])


def test_a_dropped_database_connection_ends_the_task_cleanly(start_worker: Callable[..., Worker]):
    start_worker(PGAPPNAME=APPLICATION)
    user = get_user_model().objects.create_user("dropped")
    result = tasks.progress_task.delay(user.id, "drop", step_seconds=0.3, total_steps=STEPS)
    status = UserTaskStatus.objects.get(task_id=result.id)
    wait_for(lambda: UserTaskStatus.objects.get(pk=status.pk).completed_steps >= 3, what="the task to be running")
    assert drop_worker_connections() >= 1, "the worker's connections were dropped"

    def ended() -> UserTaskStatus | None:
        current = UserTaskStatus.objects.get(pk=status.pk)
        return current if current.is_finished else None

    final = wait_for(ended, timeout=20, what="the task to end after losing its connection")
    if final.state == "Succeeded":  # the step's write reconnected, or the redelivered task ran again
        assert final.completed_steps == STEPS
    else:
        assert final.state == "Failed"
        error = final.artifacts.get(name="Error")
        assert "connection" in error.text.lower() or "terminat" in error.text.lower(), error.text
    # the worker is still healthy: the next task runs to the end
    again = tasks.progress_task.delay(user.id, "after", total_steps=3)
    after = wait_for(lambda: UserTaskStatus.objects.filter(task_id=again.id, state="Succeeded").first(),
                     what="a task after the drop to succeed")  # fmt: skip
    assert after.completed_steps == 3


def test_a_connection_dropped_between_tasks_is_replaced_at_the_next_start(start_worker: Callable[..., Worker]):
    """The worker keeps its connection across tasks and checks it by writing the next start (no
    ``SELECT 1`` first): a connection the server dropped while the worker was idle is replaced and
    the start written on the new one, without a redelivery."""
    start_worker(PGAPPNAME=APPLICATION)
    user = get_user_model().objects.create_user("idle-drop")
    first = tasks.progress_task.delay(user.id, "before", total_steps=2)
    wait_for(lambda: UserTaskStatus.objects.filter(task_id=first.id, state="Succeeded").first(),
             what="the first task to succeed")  # fmt: skip
    assert drop_worker_connections() >= 1, "the idle worker's connections were dropped"
    again = tasks.progress_task.delay(user.id, "after", total_steps=3)
    after = wait_for(lambda: UserTaskStatus.objects.filter(task_id=again.id, state="Succeeded").first(),
                     what="the next task to succeed on a new connection")  # fmt: skip
    assert (after.completed_steps, after.attempts) == (3, 1)
