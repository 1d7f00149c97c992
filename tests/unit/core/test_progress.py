"""Coalesced progress: a tight loop of increments costs a few writes, and nothing is lost."""

import threading
import time
import uuid
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from user_tasks_graphql.exceptions import TaskCanceledException
from user_tasks_graphql.models import UserTaskStatus
from user_tasks_graphql.worker.flusher import TrailingFlusher

from ..factories import make_container, make_status

pytestmark = pytest.mark.django_db(transaction=True)


def updates(captured: CaptureQueriesContext) -> int:
    return sum(q["sql"].startswith("UPDATE") for q in captured.captured_queries)


def test_increments_within_the_interval_become_one_write(user: Any, settings: Any):
    settings.USER_TASKS_PROGRESS_INTERVAL = 60
    parent = make_container(user, total_steps=10_000)
    status = make_status(user, parent=parent, total_steps=10_000)
    with CaptureQueriesContext(connection) as captured:
        for done in range(1, 10_001):
            status.increment_completed_steps()
            assert status.completed_steps == done, "the count read inside the task is always current"
    assert updates(captured) == 0, "the interval starts with the first increment: nothing written yet"
    assert UserTaskStatus.objects.get(pk=status.pk).completed_steps == 0
    status.flush_progress()
    assert UserTaskStatus.objects.get(pk=status.pk).completed_steps == 10_000
    assert UserTaskStatus.objects.get(pk=parent.pk).completed_steps == 10_000


def test_writes_follow_the_interval(user: Any, settings: Any):
    settings.USER_TASKS_PROGRESS_INTERVAL = 0.05
    status = make_status(user, total_steps=1000)
    with CaptureQueriesContext(connection) as captured:
        deadline = time.monotonic() + 0.5
        while time.monotonic() < deadline:
            status.increment_completed_steps()
            time.sleep(0.001)
    assert 5 <= updates(captured) <= 15


@pytest.mark.parametrize(
    "change",
    [
        lambda s: s.set_state("Next step"),
        lambda s: s.succeed(),
        lambda s: s.fail("boom"),
        lambda s: s.increment_total_steps(1),
        lambda s: s.set_name("renamed"),
    ],
)
def test_any_other_change_writes_pending_steps_first(user: Any, settings: Any, change: Any):
    settings.USER_TASKS_PROGRESS_INTERVAL = 60
    status = make_status(user, total_steps=100)
    for _ in range(7):
        status.increment_completed_steps()
    change(status)
    row = UserTaskStatus.objects.get(pk=status.pk)
    assert row.completed_steps in (7, 100)  # 100 after succeed() fills the steps
    assert status.completed_steps == row.completed_steps


def test_a_retry_drops_the_attempts_steps_written_or_not(user: Any, settings: Any):
    settings.USER_TASKS_PROGRESS_INTERVAL = 60
    parent = make_container(user, state=UserTaskStatus.IN_PROGRESS, total_steps=100)
    status = make_status(user, parent=parent, total_steps=100)
    status.increment_completed_steps(3)
    status.flush_progress()
    for _ in range(4):
        status.increment_completed_steps()
    assert UserTaskStatus.objects.get(pk=parent.pk).completed_steps == 3
    status.retry()
    row = UserTaskStatus.objects.get(pk=status.pk)
    assert (row.state, row.completed_steps, row.attempts) == ("Retrying", 0, 2)
    assert status.completed_steps == 0
    assert UserTaskStatus.objects.get(pk=parent.pk).completed_steps == 0
    status.flush_progress()
    assert UserTaskStatus.objects.get(pk=status.pk).completed_steps == 0, "nothing of the attempt is left to write"


def test_artifact_writes_pending_steps_first(user: Any, settings: Any):
    from user_tasks_graphql.models import UserTaskArtifact

    settings.USER_TASKS_PROGRESS_INTERVAL = 60
    status = make_status(user, total_steps=100)
    for _ in range(4):
        status.increment_completed_steps()
    UserTaskArtifact.objects.create(status=status, text="partial result")
    assert UserTaskStatus.objects.get(pk=status.pk).completed_steps == 4


def test_cancel_is_noticed_at_the_next_write(user: Any, settings: Any):
    settings.USER_TASKS_PROGRESS_INTERVAL = 0.05
    status = make_status(user, total_steps=100)
    status.increment_completed_steps()
    UserTaskStatus.objects.get(pk=status.pk).cancel()

    def keep_counting() -> None:
        deadline = time.monotonic() + 2
        while time.monotonic() < deadline:
            status.increment_completed_steps()
            time.sleep(0.005)

    with pytest.raises(TaskCanceledException):
        keep_counting()
    assert UserTaskStatus.objects.get(pk=status.pk).state == "Canceled"


def test_trailing_increments_are_written_by_the_worker_thread(user: Any, settings: Any):
    settings.USER_TASKS_PROGRESS_INTERVAL = 0.05
    flusher = TrailingFlusher()
    status = make_status(user, total_steps=100)
    status.increment_completed_steps()
    status.increment_completed_steps(2)
    flusher.watch(status)
    deadline = time.monotonic() + 3
    while UserTaskStatus.objects.get(pk=status.pk).completed_steps != 3 and time.monotonic() < deadline:
        time.sleep(0.02)
    assert UserTaskStatus.objects.get(pk=status.pk).completed_steps == 3


def test_interval_zero_writes_every_call(user: Any, settings: Any):
    settings.USER_TASKS_PROGRESS_INTERVAL = 0
    status = make_status(user, total_steps=100)
    with CaptureQueriesContext(connection) as captured:
        for _ in range(5):
            status.increment_completed_steps()
    assert updates(captured) == 5


def test_every_write_bumps_seq(user: Any, settings: Any):
    settings.USER_TASKS_PROGRESS_INTERVAL = 0
    status = make_status(user, task_id=str(uuid.uuid4()))
    seqs = [UserTaskStatus.objects.get(pk=status.pk).seq]
    for change in (status.start, lambda: status.set_state("x"), status.increment_completed_steps, status.succeed):
        change()
        seqs.append(UserTaskStatus.objects.get(pk=status.pk).seq)
    assert seqs == sorted(set(seqs)), f"seq must grow with every change: {seqs}"


def test_success_writes_waiting_steps_in_the_same_final_event(user: Any, settings: Any, monkeypatch: Any):
    settings.USER_TASKS_PROGRESS_INTERVAL = 60
    parent = make_container(user, total_steps=10)
    status = make_status(user, parent=parent, total_steps=10)
    for _ in range(6):
        status.increment_completed_steps()  # the first is written at once, five wait in memory
    published: list[list[dict]] = []
    monkeypatch.setattr(
        "user_tasks_graphql.core.row.publish", lambda model, events, **_: published.append(list(events))
    )
    status.succeed()
    states = {event["id"]: (event["state"], event["completed_steps"]) for event in published[0]}
    assert states[status.pk] == ("Succeeded", 10), "the first event after the loop is already the final one"
    assert all(event["id"] != status.pk for batch in published[1:] for event in batch)
    assert UserTaskStatus.objects.get(pk=parent.pk).completed_steps == 10


def test_steps_counted_in_the_tasks_transaction_are_left_to_the_task(user: Any, settings: Any):
    """The task's transaction may hold the row's lock: a flusher waiting for it would hold the
    status's lock until the commit while the task waits for that lock at its next call."""
    from django.db import transaction

    settings.USER_TASKS_PROGRESS_INTERVAL = 0.02
    flusher = TrailingFlusher()
    status = make_status(user, total_steps=100)
    done = []

    def task() -> None:
        with transaction.atomic():
            status.set_state("Inside the task's transaction")  # the row is locked until the commit
            status.increment_completed_steps()
            flusher.watch(status)
            time.sleep(0.2)  # the flusher's rounds pass
            assert not status.progress_buffer().overdue()
            status.increment_completed_steps()
        status.flush_progress()
        done.append(True)

    thread = threading.Thread(target=task, daemon=True)
    thread.start()
    thread.join(10)
    assert done, "the task thread is stuck"
    assert UserTaskStatus.objects.get(pk=status.pk).completed_steps == 2
