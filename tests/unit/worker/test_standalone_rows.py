"""Creating a standalone task's row at publish: one INSERT outside a transaction, its event the row
just written; a retry (same id) or an id published twice finds the row there."""

from typing import Any

import pytest
from django.db import IntegrityError, connection, transaction
from django.test.utils import CaptureQueriesContext

from tests.testapp import tasks
from user_tasks_graphql.core.events import load_events
from user_tasks_graphql.models import UserTaskStatus
from user_tasks_graphql.worker.signals import create_user_task

pytestmark = pytest.mark.django_db(transaction=True)


def publish(user: Any, task_id: str, retries: int) -> None:
    """The ``before_task_publish`` handler with a protocol 2 message of ``step_task``."""
    create_user_task(
        sender="tests.testapp.tasks.step_task",
        body=([user.id, "Argument"], {}, {"callbacks": [], "errbacks": [], "chain": None, "chord": None}),
        headers={"id": task_id, "retries": retries, "task": "tests.testapp.tasks.step_task"},
    )


def by_id(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(events, key=lambda event: event["id"])


def test_the_creation_event_is_the_row_as_the_database_has_it(user: Any, monkeypatch: pytest.MonkeyPatch):
    published: list[dict[str, Any]] = []
    monkeypatch.setattr("user_tasks_graphql.live.publisher.publisher.publish", published.extend)
    result = tasks.step_task.delay(user.id, "Argument")
    status = UserTaskStatus.objects.get(task_id=result.id)
    assert published == load_events(UserTaskStatus, [status.pk])
    assert published[0]["state"] == "Pending"
    assert type(published[0]["state"]) is str


def test_a_retry_finds_its_row_without_a_failed_insert(user: Any):
    """A retry is published with the task's id: looked up first, so the database logs no error."""
    publish(user, "retried", retries=0)
    before = UserTaskStatus.objects.get(task_id="retried")
    with CaptureQueriesContext(connection) as captured:
        publish(user, "retried", retries=1)
    assert [query["sql"].split()[0] for query in captured.captured_queries][-1] == "SELECT"
    assert not any(query["sql"].startswith("INSERT") for query in captured.captured_queries)
    assert list(UserTaskStatus.objects.filter(task_id="retried").values_list("pk", "seq")) == [(before.pk, 0)]


def test_an_id_published_twice_keeps_its_one_row(user: Any):
    publish(user, "twice", retries=0)
    before = UserTaskStatus.objects.get(task_id="twice")
    publish(user, "twice", retries=0)
    assert list(UserTaskStatus.objects.filter(task_id="twice").values_list("pk", "seq")) == [(before.pk, 0)]


def test_any_other_refusal_of_the_insert_is_raised(user: Any, monkeypatch: pytest.MonkeyPatch):
    def refuse(**fields: Any) -> None:
        raise IntegrityError("violates foreign key constraint")

    monkeypatch.setattr(UserTaskStatus.objects, "create", refuse)
    with pytest.raises(IntegrityError, match="foreign key"):
        publish(user, "refused", retries=0)
    assert not UserTaskStatus.objects.filter(task_id="refused").exists()


def test_a_canvas_announces_its_rows_as_committed(user: Any, monkeypatch: pytest.MonkeyPatch):
    """A chain's row gets its steps after its insert: its event carries the committed total."""
    from celery import chain

    published: list[dict[str, Any]] = []
    monkeypatch.setattr("user_tasks_graphql.live.publisher.publisher.publish", published.extend)
    chain(tasks.step_task.si(user.id, "a"), tasks.step_task.si(user.id, "b")).delay()
    rows = UserTaskStatus.objects.order_by("pk")
    assert by_id(published) == by_id(load_events(UserTaskStatus, [row.pk for row in rows]))
    container = rows.get(is_container=True)
    assert next(event for event in published if event["id"] == container.pk)["total_steps"] == 2


def test_inside_a_transaction_an_id_published_twice_leaves_one_row_and_the_transaction_usable(user: Any):
    """In the caller's transaction the INSERT runs in a savepoint: the second one's refusal does
    not break the transaction, which goes on and commits the one row."""
    with transaction.atomic():
        tasks.step_task.apply_async((user.id, "first"), task_id="twice")
        tasks.step_task.apply_async((user.id, "second"), task_id="twice")
        assert UserTaskStatus.objects.filter(task_id="twice").count() == 1  # a broken transaction raises here
    assert UserTaskStatus.objects.get(task_id="twice").name == "StepTask: first"
