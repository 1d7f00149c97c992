"""The worker heartbeat keeps running tasks fresh, and only those."""

import time
from datetime import timedelta
from typing import Any

import pytest
from celery.signals import worker_process_shutdown
from django.utils import timezone

from user_tasks_graphql.models import UserTaskStatus
from user_tasks_graphql.worker import signals as worker_signals
from user_tasks_graphql.worker.heartbeat import Heartbeat

from ..factories import make_status

pytestmark = pytest.mark.django_db(transaction=True)


def test_tracked_running_tasks_are_touched(user: Any, settings: Any):
    settings.USER_TASKS_STALE_AFTER = 1
    settings.USER_TASKS_HEARTBEAT_INTERVAL = 0.05
    old = timezone.now() - timedelta(hours=1)
    tracked, untracked, finished = make_status(user), make_status(user), make_status(user, state="Succeeded")
    UserTaskStatus.objects.update(modified=old)
    beat = Heartbeat()
    beat.track(tracked.pk)
    beat.track(finished.pk)
    try:
        deadline = time.monotonic() + 5
        while UserTaskStatus.objects.get(pk=tracked.pk).modified == old and time.monotonic() < deadline:
            time.sleep(0.02)
    finally:
        beat.stop()
    assert UserTaskStatus.objects.get(pk=tracked.pk).modified > old
    assert UserTaskStatus.objects.get(pk=untracked.pk).modified == old
    assert UserTaskStatus.objects.get(pk=finished.pk).modified == old


def test_untrack_counts_nested_tracks():
    beat = Heartbeat()
    beat.track(1)
    beat.track(1)
    beat.stop()
    beat.untrack(1)
    assert beat.running() == [1]
    beat.untrack(1)
    assert beat.running() == []


def test_a_worker_process_that_shuts_down_stops_touching_rows(user: Any, settings: Any, monkeypatch: Any):
    """``worker_process_shutdown`` ends the process's heartbeat thread: a stopping child no longer
    keeps its tasks' rows fresh for the reaper."""
    settings.USER_TASKS_STALE_AFTER = 1
    settings.USER_TASKS_HEARTBEAT_INTERVAL = 0.05
    beat = Heartbeat()
    monkeypatch.setattr(worker_signals, "heartbeat", beat)
    status = make_status(user)
    beat.track(status.pk)
    thread = beat._thread
    assert thread is not None
    assert thread.is_alive()
    worker_process_shutdown.send(sender=None, pid=0, exitcode=0)
    thread.join(2)
    assert not thread.is_alive()
