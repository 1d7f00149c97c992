"""A worker starts a task by its Celery id: one statement that also reads the row where the
database allows (PostgreSQL outside a transaction), the ORM's lookup and ``start`` elsewhere.
Both ways must leave the same row, publish the same event and return the same status."""

import logging
import time
from collections.abc import Iterator
from typing import Any

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from tests.testapp import tasks
from user_tasks_graphql.core import progress
from user_tasks_graphql.core.events import load_events
from user_tasks_graphql.exceptions import TaskCanceledException
from user_tasks_graphql.models import UserTaskStatus
from user_tasks_graphql.worker import signals
from user_tasks_graphql.worker.flusher import flusher

from ..factories import make_container, make_status, reload

pytestmark = pytest.mark.django_db(transaction=True)
ONE_STATEMENT = connection.vendor == "postgresql"


@pytest.fixture
def published(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = []
    monkeypatch.setattr("user_tasks_graphql.core.row.publish", lambda model, sent, **_: events.extend(sent))
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
    by_id = {event["id"]: event for event in load_events(UserTaskStatus, [status.pk, parent.pk])}
    assert {event["id"]: event for event in published} == by_id, "one event per row, as read after"


def test_a_redelivered_task_counts_another_attempt(user: Any, running: Any, published: list[dict[str, Any]]):
    status = make_status(user, state="Pending")
    running(status)._start_status()
    again = running(status)._start_status()
    assert (again.attempts, reload(status).attempts) == (2, 2)


def test_a_redelivered_task_starts_its_steps_from_zero(user: Any, running: Any, published: list[dict[str, Any]]):
    group = make_container(user, kind="group", state="In Progress", total_steps=10, completed_steps=7)
    make_status(user, parent=group, state="Succeeded", total_steps=5, completed_steps=5)
    status = make_status(user, parent=group, state="In Progress", total_steps=5, completed_steps=2)
    again = running(status)._start_status()
    assert (again.completed_steps, again.attempts) == (0, 2)
    assert (reload(status).completed_steps, reload(status).state) == (0, "In Progress")
    assert reload(group).completed_steps == 5, "the group keeps its finished child's steps, not the lost attempt's"
    by_id = {event["id"]: event for event in published}
    assert (by_id[status.pk]["completed_steps"], by_id[group.pk]["completed_steps"]) == (0, 5)
    for _ in range(5):
        again.increment_completed_steps()
    again.succeed()
    assert (reload(status).completed_steps, reload(group).completed_steps) == (5, 10)
    assert reload(group).state == "Succeeded"


def test_a_container_start_counts_no_attempt(user: Any, published: list[dict[str, Any]]):
    chain = make_container(user, state="In Progress")
    started = UserTaskStatus.start_task(chain.task_id) or chain
    if started is chain:  # no single statement here: the ORM's start
        chain.start()
    assert reload(chain).attempts == 1


def test_a_canceled_task_stays_canceled(user: Any, running: Any, published: list[dict[str, Any]]):
    status = make_status(user, state="Canceled")
    assert UserTaskStatus.start_task(status.task_id).state == "Canceled"
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
        assert UserTaskStatus.start_task(status.task_id).state == "In Progress"
        assert reload(status).state == "In Progress"
        assert published == []


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


class TestDeferredStart:
    """In a worker a waiting row's start is written after ``USER_TASKS_START_DELAY``, or with the
    task's first other change; a task that ends sooner makes one write, its result."""

    DELAY = 0.2

    @pytest.fixture(autouse=True)
    def deferring(self, settings: Any, monkeypatch: pytest.MonkeyPatch) -> None:
        settings.USER_TASKS_START_DELAY = self.DELAY
        monkeypatch.setattr(progress, "_background_writer", flusher.watch)

    def test_a_short_task_writes_only_its_result(self, user: Any, running: Any, published: list[dict[str, Any]]):
        status = make_status(user, state="Pending")
        published.clear()
        with CaptureQueriesContext(connection) as captured:
            started = running(status)._start_status()
        assert [query["sql"].split()[0] for query in captured.captured_queries] == ["SELECT"], "read, not written"
        assert (started.state, reload(status).state) == ("In Progress", "Pending"), "running, as the task sees it"
        started.succeed()
        time.sleep(self.DELAY * 2)
        row = reload(status)
        assert (row.state, row.attempts, row.seq) == ("Succeeded", 1, 1), "one write in all"
        assert [event["state"] for event in published] == ["Succeeded"]

    def test_a_longer_task_is_started_after_the_delay(self, user: Any, running: Any, published: list[dict[str, Any]]):
        status = make_status(user, state="Retrying", state_text="before the retry", attempts=2)
        published.clear()
        began = time.monotonic()
        running(status)._start_status()
        while not published:
            assert time.monotonic() - began < 5, "the flusher thread wrote and published the start"
            time.sleep(0.01)
        assert time.monotonic() - began >= self.DELAY
        row = reload(status)
        assert (row.state, row.state_text, row.attempts) == ("In Progress", "", 2)
        assert [event["state"] for event in published] == ["In Progress"]

    def test_another_change_writes_the_start_first(self, user: Any, running: Any, published: list[dict[str, Any]]):
        parent = make_container(user)
        status = make_status(user, parent=parent, state="Pending")
        published.clear()
        running(status)._start_status().set_state("Exporting")
        row = reload(status)
        assert (row.state, row.state_text, row.attempts) == ("In Progress", "Exporting", 1)
        assert reload(parent).state == "In Progress", "waiting ancestors start with it"
        mine = [event["state_text"] for event in published if event["id"] == status.pk]
        assert mine == ["", "Exporting"]

    @pytest.mark.parametrize(("change", "state", "attempts"), [("retry", "Retrying", 2), ("fail", "Failed", 1)])
    def test_a_retry_or_failure_is_its_only_write(
        self, user: Any, running: Any, published: list[dict[str, Any]], change: str, state: str, attempts: int
    ):
        status = make_status(user, state="Pending")
        published.clear()
        started = running(status)._start_status()
        getattr(started, change)(*(["boom"] if change == "fail" else []))
        time.sleep(self.DELAY * 2)
        row = reload(status)
        assert (row.state, row.attempts) == (state, attempts)
        assert "In Progress" not in [event["state"] for event in published], "no start written"

    def test_canceled_before_the_start_is_written(
        self,
        user: Any,
        running: Any,
        published: list[dict[str, Any]],
        monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture,
    ):
        """The flusher's start finds the cancel (no warning: it is not a failure); the task raises."""
        monkeypatch.setattr("user_tasks_graphql.worker.signals.revoke_task", lambda task_id: None)
        status = make_status(user, state="Pending")
        started = running(status)._start_status()
        UserTaskStatus.objects.get(pk=status.pk).cancel()
        with caplog.at_level(logging.WARNING, logger="user_tasks_graphql.worker.flusher"):
            time.sleep(self.DELAY * 2)
        assert caplog.records == []
        assert started.state == "Canceled", "the flusher's start read the cancel"
        assert reload(status).state == "Canceled"
        with pytest.raises(TaskCanceledException):
            started.increment_completed_steps()

    def test_a_redelivered_running_task_starts_at_once(self, user: Any, running: Any, published: list[dict[str, Any]]):
        status = make_status(user, state="In Progress")
        running(status)._start_status()
        assert reload(status).attempts == 2, "its message came again after its worker was lost"

    def test_no_delay_writes_the_start_at_once(self, user: Any, running: Any, settings: Any):
        settings.USER_TASKS_START_DELAY = 0
        status = make_status(user, state="Pending")
        running(status)._start_status()
        assert reload(status).state == "In Progress"
