"""``USER_TASKS_SYNCHRONOUS_COMMIT = False``: the worker's status writes (start, progress, result)
do not wait for PostgreSQL's WAL flush, and nothing else on the connection changes."""

from typing import Any

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from user_tasks_graphql.core.writes import ASYNC_COMMIT
from user_tasks_graphql.models import UserTaskStatus

from ..factories import make_status

pytestmark = pytest.mark.django_db(transaction=True)
POSTGRESQL = connection.vendor == "postgresql"


def writes(captured: CaptureQueriesContext) -> list[str]:
    return [query["sql"] for query in captured.captured_queries if "UPDATE" in query["sql"]]


def session_setting() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SHOW synchronous_commit")
        return str(cursor.fetchone()[0])


def lifecycle(user: Any) -> tuple[UserTaskStatus, CaptureQueriesContext]:
    """A task's writes outside a transaction, as a worker makes them: start, progress, result."""
    status = make_status(user, state="Pending")
    with CaptureQueriesContext(connection) as captured:
        started = UserTaskStatus.start_task(status.task_id) or status
        if started is status:
            status.start()
        started.increment_completed_steps(2)
        started.flush_progress()
        started.succeed()
    return started, captured


def test_by_default_every_write_waits_for_the_flush(user: Any, nobody_listens: None):
    status, captured = lifecycle(user)
    assert writes(captured)
    assert not any(ASYNC_COMMIT.strip() in sql for sql in writes(captured))
    assert (status.state, status.completed_steps) == ("Succeeded", 5)


def test_off_each_write_commits_without_waiting_and_the_session_keeps_its_setting(
    user: Any, settings: Any, nobody_listens: None
):
    settings.USER_TASKS_SYNCHRONOUS_COMMIT = False
    status, captured = lifecycle(user)
    statements = writes(captured)
    assert statements
    if POSTGRESQL:
        assert len(statements) == 3, "start, progress, result"
        assert all(sql.startswith(ASYNC_COMMIT + "UPDATE") for sql in statements), statements
        assert session_setting() == "on", "the setting ended with the write's own transaction"
    else:  # other databases have no such setting: the writes are the usual ones
        assert not any("synchronous_commit" in sql for sql in statements)
    row = UserTaskStatus.objects.get(pk=status.pk)
    assert (row.state, row.completed_steps, row.seq) == ("Succeeded", 5, status.seq)
    assert (status.state, status.completed_steps) == ("Succeeded", 5)


def test_off_a_write_inside_a_transaction_keeps_the_transactions_durability(
    user: Any, settings: Any, nobody_listens: None
):
    """In a transaction the write is part of the caller's work (an eager task, a view): untouched."""
    settings.USER_TASKS_SYNCHRONOUS_COMMIT = False
    status = make_status(user)
    with CaptureQueriesContext(connection) as captured, transaction.atomic():
        status.succeed()
    assert writes(captured)
    assert not any("synchronous_commit" in query["sql"] for query in captured.captured_queries)
    assert UserTaskStatus.objects.get(pk=status.pk).state == "Succeeded"
