"""A worker starts a task by its Celery id: one statement that also reads the row where the
database allows (PostgreSQL outside a transaction), the ORM's lookup and ``start`` elsewhere.
Both ways must leave the same row, publish the same event and return the same status."""

from collections.abc import Iterator
from typing import Any

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from tests.testapp import tasks
from user_tasks_graphql import signals
from user_tasks_graphql.events import load_events
from user_tasks_graphql.models import UserTaskStatus

from .factories import make_container, make_status, reload

pytestmark = pytest.mark.django_db(transaction=True)
ONE_STATEMENT = connection.vendor == "postgresql"


@pytest.fixture
def published(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = []
    monkeypatch.setattr("user_tasks_graphql.lifecycle.publish_events", lambda sent, **_: events.extend(sent))
    return events


@pytest.fixture
def running() -> Iterator[Any]:
    """A user task with a worker's request for a given task id, as in a worker's task_prerun."""
    task = tasks.step_task
    pushed = 0

    def push(status: UserTaskStatus) -> Any:
        nonlocal pushed
        task.push_request(id=status.task_id, args=(status.user_id, "x"), kwargs={}, is_eager=False)
        pushed += 1
        return task

    yield push
    for _ in range(pushed):
        task.pop_request()


def fields(status: UserTaskStatus) -> dict[str, Any]:
    return {field.attname: getattr(status, field.attname) for field in UserTaskStatus._meta.concrete_fields}


def test_the_started_status_is_the_row(user: Any, running: Any, published: list[dict[str, Any]]):
    parent = make_container(user)
    status = make_status(user, parent=parent, state="Pending", state_text="old")
    started = running(status)._start_status()
    row = reload(status)
    assert (row.state, row.state_text, row.attempts, row.seq) == ("In Progress", "", 1, 1)
    assert fields(started) == fields(row)
    assert started.ancestors() == [(parent.pk, "celery.chain")]
    assert reload(parent).state == "In Progress", "a waiting ancestor starts with its first child"
    by_id = {event["id"]: event for event in load_events([status.pk, parent.pk])}
    assert {event["id"]: event for event in published} == by_id, "one event per row, as read after"


def test_a_redelivered_task_counts_another_attempt(user: Any, running: Any, published: list[dict[str, Any]]):
    status = make_status(user, state="Pending")
    running(status)._start_status()
    again = running(status)._start_status()
    assert (again.attempts, reload(status).attempts) == (2, 2)


def test_a_container_start_counts_no_attempt(user: Any, published: list[dict[str, Any]]):
    chain = make_container(user, state="In Progress")
    started = UserTaskStatus.start_task(chain.task_id) or chain
    if started is chain:  # no single statement here: the ORM's start
        chain.start()
    assert reload(chain).attempts == 1


def test_a_canceled_task_stays_canceled(user: Any, running: Any, published: list[dict[str, Any]]):
    status = make_status(user, state="Canceled")
    assert UserTaskStatus.start_task(status.task_id) is None
    started = running(status)._start_status()
    assert started.state == reload(status).state == "Canceled"
    assert reload(status).seq == status.seq, "nothing written"


def test_a_missing_row_is_created_and_started(user: Any, running: Any, published: list[dict[str, Any]]):
    task = tasks.step_task
    task.push_request(id="created-by-the-worker", args=(user.id, "late"), kwargs={}, is_eager=False)
    try:
        assert UserTaskStatus.start_task("created-by-the-worker") is None
        started = task._start_status()
    finally:
        task.pop_request()
    assert (started.name, reload(started).state) == ("StepTask: late", "In Progress")


def test_inside_a_transaction_the_orm_starts_it(user: Any, published: list[dict[str, Any]]):
    """Its event waits for the commit, so the statement that returns it is not used."""
    status = make_status(user, state="Pending")
    with transaction.atomic():
        assert UserTaskStatus.start_task(status.task_id) is None
        assert reload(status).state == "Pending"


def test_a_worker_starts_a_task_in_one_statement(user: Any, running: Any, published: list[dict[str, Any]]):
    """No lookup before the write, no read after it, no connection check (PostgreSQL)."""
    status = make_status(user, state="Pending")
    task = running(status)
    connection.ensure_connection()
    with CaptureQueriesContext(connection) as captured:
        signals.start_user_task(sender=task, task=task)
    signals.stop_heartbeat(sender=task, task=task)
    statements = [query["sql"].split()[0] for query in captured.captured_queries]
    assert statements == (["UPDATE"] if ONE_STATEMENT else ["SELECT", "UPDATE", "SELECT"])
    assert task.status.state == "In Progress"
