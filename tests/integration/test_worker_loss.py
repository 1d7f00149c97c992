"""Worker loss: a killed child or worker, with and without ``acks_late``, each test once with Redis
and once with RabbitMQ as the broker."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable
from typing import Any

import pytest
from celery import group

from tests.testapp import tasks
from user_tasks_graphql.core.maintenance import reap_stale_user_tasks
from user_tasks_graphql.models import UserTaskStatus

from .brokers import BROKERS
from .conftest import Worker, wait_for
from .statuses import finished, status_of, stops_sent

pytestmark = [
    pytest.mark.integration,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("broker"),
    pytest.mark.parametrize("broker", BROKERS, indirect=True),
]


def killed_child(worker: Worker, task_id: str) -> int:
    text = wait_for(lambda: status_of(task_id).state_text, 15, "the task to start")
    pid = int(text.rsplit(" ", 1)[1])
    assert pid in worker.child_pids()
    os.kill(pid, signal.SIGKILL)
    return pid


def test_killed_child_with_acks_late_is_redelivered(user: Any, worker: Worker):
    result = tasks.sleeping_task.delay(user.id, "x", seconds=1.5)
    killed_child(worker, result.id)
    status = finished(result.id, 30)
    assert (status.state, status.attempts) == ("Succeeded", 2)
    assert stops_sent(result.id) == ["Succeeded"]


def test_a_redelivered_task_counts_its_steps_from_zero(user: Any, worker: Worker):
    """The killed attempt's written steps leave the row and its group; the new attempt counts all 40."""
    result = group(
        tasks.counting_in_process_task.s(user.id, "long", step_seconds=0.05, total_steps=40),
        tasks.step_task.s(user.id, "short", total_steps=5),
    ).delay()
    long_id = result.results[0].id
    wait_for(lambda: status_of(long_id).completed_steps >= 10, 20, "the first attempt to write some steps")
    killed_child(worker, long_id)
    status = finished(long_id, 60)
    assert (status.state, status.completed_steps, status.total_steps, status.attempts) == ("Succeeded", 40, 40, 2)
    container = finished(UserTaskStatus.objects.get(pk=status.parent_id).task_id)
    assert (container.state, container.completed_steps, container.total_steps) == ("Succeeded", 45, 45)


# Celery 5.7's prefork pool looks for a dead child when the child's sentinel pipe closes, but the
# kernel closes it a moment before the child can be reaped: then the pool finds the child only at its
# next periodic check (AsynPool.maintain_pool, every 5 s). Measured here: 2 to 8 kills in 16.
POOL_CHECK_INTERVAL = 5.0


def test_killed_child_without_acks_late_fails_within_5_seconds(user: Any, start_worker: Callable[..., Worker]):
    """5 s: the pool's check interval, plus the time to write the status."""
    worker = start_worker(TEST_CELERY_ACKS_LATE="0")
    result = tasks.sleeping_task.delay(user.id, "x", seconds=30)
    killed_child(worker, result.id)
    started = time.monotonic()
    status = finished(result.id, POOL_CHECK_INTERVAL + 1.5)
    assert time.monotonic() - started < POOL_CHECK_INTERVAL + 1.5
    assert status.state == "Failed"
    assert "Worker exited prematurely" in status.artifacts.get(name="Error").text
    assert stops_sent(result.id) == ["Failed"]


def test_killed_worker_is_reaped_and_a_live_one_is_not(user: Any, start_worker: Callable[..., Worker]):
    env = {"TEST_USER_TASKS_STALE_AFTER": "2", "TEST_USER_TASKS_HEARTBEAT_INTERVAL": "0.3"}
    worker = start_worker(**env)
    with pytest.MonkeyPatch.context() as patch:
        from django.conf import settings

        patch.setattr(settings, "USER_TASKS_STALE_AFTER", 2, raising=False)
        patch.setattr(settings, "USER_TASKS_HEARTBEAT_INTERVAL", 0.3, raising=False)
        alive = tasks.sleeping_task.delay(user.id, "alive", seconds=4)
        wait_for(lambda: status_of(alive.id).state_text, 15, "the task to start")
        deadline = time.monotonic() + 4.5
        while time.monotonic() < deadline and not status_of(alive.id).is_finished:
            assert reap_stale_user_tasks() == 0, "the heartbeat must keep a silent live task from being reaped"
            time.sleep(0.3)
        assert finished(alive.id, 10).state == "Succeeded"

        doomed = tasks.sleeping_task.delay(user.id, "doomed", seconds=60)
        wait_for(lambda: status_of(doomed.id).state_text, 15, "the task to start")
        worker.kill()
        killed_at = time.monotonic()
        wait_for(lambda: reap_stale_user_tasks() or status_of(doomed.id).is_finished, 10, "the reaper")
        assert 1.0 < time.monotonic() - killed_at < 6
    status = status_of(doomed.id)
    assert status.state == "Failed"
    assert "stopped responding" in status.artifacts.get(name="Error").text
    assert stops_sent(doomed.id) == ["Failed"]
