"""Statuses driven by a real Celery worker (prefork, 2 children) and PostgreSQL, each test once
with Redis and once with RabbitMQ as the broker (results stay in Redis)."""

from __future__ import annotations

import time
from typing import Any

import pytest
from celery import chain, chord, group
from celery.result import AsyncResult

from tests.testapp import tasks
from user_tasks_graphql.models import UserTaskStatus

from .brokers import BROKERS, Broker
from .conftest import Worker, wait_for
from .statuses import finished, status_of, stops_of, stops_sent

pytestmark = [
    pytest.mark.integration,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("broker"),
    pytest.mark.parametrize("broker", BROKERS, indirect=True),
]


def test_task_with_progress_state_text_and_artifact(user: Any, worker: Worker):
    result = tasks.progress_task.delay(user.id, "export", step_seconds=0.05, total_steps=5)
    assert status_of(result.id).state == "Pending", "the row exists as soon as the task is published"
    status = finished(result.id)
    assert (status.state, status.completed_steps, status.total_steps, status.attempts) == (
        "Succeeded",
        5,
        5,
        1,
    )
    assert status.state_text == "Step 5 of 5"
    assert [(a.name, a.text) for a in status.artifacts.all()] == [("Output", "1,2,3,4,5")]
    assert result.get(timeout=10) == "export"
    assert stops_sent(result.id) == ["Succeeded"]


def test_failing_task(user: Any, worker: Worker):
    result = tasks.failing_task.delay(user.id, "x")
    status = finished(result.id)
    assert (status.state, status.attempts) == ("Failed", 1)
    assert [(a.name, a.text) for a in status.artifacts.all()] == [("Error", "Boom!")]
    assert stops_sent(result.id) == ["Failed"]


def test_retried_task(user: Any, worker: Worker):
    result = tasks.retried_task.delay(user.id, "x")
    status = finished(result.id)
    assert (status.state, status.attempts, status.completed_steps) == ("Succeeded", 2, 1)
    assert stops_sent(result.id) == ["Succeeded"]


def test_cancel_while_pending_revokes_the_message(user: Any, worker: Worker):
    result = tasks.progress_task.apply_async((user.id, "x"), {"total_steps": 2}, countdown=2)
    status_of(result.id).cancel()
    wait_for(lambda: AsyncResult(result.id).state == "REVOKED", 20, "the worker to drop the revoked task")
    status = status_of(result.id)
    assert (status.state, status.completed_steps) == ("Canceled", 0)
    assert not status.artifacts.exists(), "a revoked task's body must not run"
    assert stops_sent(result.id) == ["Canceled"]


def test_cancel_while_running_is_noticed_cooperatively(user: Any, worker: Worker):
    result = tasks.wait_for_cancel_task.delay(user.id, "x", timeout=20)
    wait_for(lambda: status_of(result.id).state_text == "Waiting to be canceled", 15, "the task to run")
    status_of(result.id).cancel()
    wait_for(lambda: AsyncResult(result.id).state == "FAILURE", 10, "the task to stop")
    assert "TaskCanceledException" in repr(AsyncResult(result.id).result)
    assert status_of(result.id).state == "Canceled"
    assert stops_sent(result.id) == ["Canceled"]


def test_revoke_from_outside_cancels_the_status(user: Any, worker: Worker):
    result = tasks.step_task.apply_async((user.id, "x"), countdown=2)
    result.revoke()  # as `celery control revoke` or Flower would
    status = finished(result.id, 20)
    assert status.state == "Canceled"
    assert stops_sent(result.id) == ["Canceled"]


def test_worker_consumes_again_after_the_broker_closed_its_connections(user: Any, broker: Broker, worker: Worker):
    assert broker.close_connections(worker.pids()), "the worker holds broker connections"
    wait_for(lambda: "Connection to broker lost" in worker.output(), 10, "the worker to notice")
    result = tasks.progress_task.delay(user.id, "after", total_steps=2)
    status = finished(result.id)
    assert (status.state, status.completed_steps, status.attempts) == ("Succeeded", 2, 1)
    assert worker.process.poll() is None, worker.output()[-4000:]


def all_rows() -> dict[str, UserTaskStatus]:
    return {s.name or s.task_class: s for s in UserTaskStatus.objects.all()}


def wait_all_finished(count: int, timeout: float = 40) -> dict[str, UserTaskStatus]:
    def done() -> Any:
        rows = all_rows()
        return len(rows) == count and all(s.is_finished for s in rows.values()) and rows

    return wait_for(done, timeout, f"{count} statuses to finish")


def assert_one_stop_per_row(rows: dict[str, UserTaskStatus]) -> None:
    ids = [s.task_id for s in rows.values()]
    wait_for(lambda: len(stops_of(*ids)) >= len(ids), 5, "every stopped signal")
    assert sorted(stops_of(*ids)) == sorted(s.state for s in rows.values())


def test_chain(user: Any, worker: Worker):
    chain(
        tasks.progress_task.si(user.id, "1", user_task_name="Export chain", total_steps=2),
        tasks.progress_task.si(user.id, "2", total_steps=3),
    ).delay()
    rows = wait_all_finished(3)
    container = rows["Export chain"]
    assert (container.task_class, container.state, container.completed_steps, container.total_steps) == (
        "celery.chain",
        "Succeeded",
        5,
        5,
    )
    assert {rows["StepTask: 1"].parent_id, rows["StepTask: 2"].parent_id} == {container.pk}
    assert rows["StepTask: 2"].task_class == "tests.testapp.tasks.progress_task"
    assert_one_stop_per_row(rows)


def test_group_with_concurrent_progress(user: Any, worker: Worker):
    result = group(
        tasks.progress_task.s(user.id, str(i), total_steps=10, user_task_name="Parallel export") for i in range(4)
    ).delay()
    rows = wait_all_finished(5)
    container = rows["Parallel export"]
    assert (container.task_id, container.state) == (result.id, "Succeeded")
    assert (container.completed_steps, container.total_steps) == (40, 40), "concurrent increments must all count"
    assert_one_stop_per_row(rows)


def test_chord(user: Any, worker: Worker):
    chord(
        [
            tasks.progress_task.si(user.id, "a", total_steps=2),
            tasks.progress_task.si(user.id, "b", total_steps=2),
        ]
    )(tasks.progress_task.si(user.id, "c", user_task_name="Chord export", total_steps=1))
    rows = wait_all_finished(5)
    chord_row = UserTaskStatus.objects.get(task_class="celery.chord")
    group_row = UserTaskStatus.objects.get(task_class="celery.group")
    assert (chord_row.state, chord_row.completed_steps, chord_row.total_steps) == ("Succeeded", 5, 5)
    assert (group_row.state, group_row.completed_steps, group_row.parent_id) == ("Succeeded", 4, chord_row.pk)
    assert rows["StepTask: c"].parent_id == chord_row.pk
    assert_one_stop_per_row(rows)


def test_chain_inside_a_group(user: Any, worker: Worker):
    group(
        chain(tasks.progress_task.si(user.id, "a"), tasks.progress_task.si(user.id, "b")),
        tasks.progress_task.si(user.id, "c"),
    ).delay()
    rows = wait_all_finished(5)
    group_row = UserTaskStatus.objects.get(task_class="celery.group")
    chain_row = UserTaskStatus.objects.get(task_class="celery.chain")
    assert chain_row.parent_id == group_row.pk
    assert (group_row.state, group_row.completed_steps, group_row.total_steps) == ("Succeeded", 3, 3)
    assert_one_stop_per_row(rows)


def test_group_inside_a_chain(user: Any, worker: Worker):
    chain(
        tasks.progress_task.si(user.id, "a"),
        group(tasks.progress_task.si(user.id, "b"), tasks.progress_task.si(user.id, "c")),
        tasks.progress_task.si(user.id, "d"),
    ).delay()
    rows = wait_all_finished(7)
    chain_row = UserTaskStatus.objects.get(task_class="celery.chain")
    assert (chain_row.state, chain_row.completed_steps, chain_row.total_steps) == ("Succeeded", 4, 4)
    assert not UserTaskStatus.objects.filter(parent=None).exclude(pk=chain_row.pk).exists(), (
        "every row published later by the worker must find its place in the tree"
    )
    assert_one_stop_per_row(rows)


def test_failure_in_a_chain_fails_the_container(user: Any, worker: Worker):
    chain(
        tasks.failing_task.si(user.id, "a", user_task_name="Broken chain"),
        tasks.progress_task.si(user.id, "b"),
    ).delay()
    container = wait_for(lambda: (c := all_rows().get("Broken chain")) and c.is_finished and c, 30, "the chain")
    assert container.state == "Failed"
    assert [a.text for a in container.artifacts.all()] == ["Boom!"]
    assert all_rows()["StepTask: b"].state == "Pending", "a chain stops at the failed step"


def test_publish_inside_a_transaction_that_commits_late(user: Any, worker: Worker):
    from django.db import transaction

    with transaction.atomic():
        result = tasks.progress_task.delay(user.id, "late", total_steps=2)
        time.sleep(1.0)  # the worker picks the task up before the row is committed
    status = finished(result.id)
    assert (status.state, status.completed_steps, status.name) == ("Succeeded", 2, "StepTask: late")
    assert UserTaskStatus.objects.count() == 1
