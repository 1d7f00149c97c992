"""Celery signal handlers that move each user task's status through its lifecycle.

publish -> rows exist (Pending); prerun -> In Progress; success/failure -> final state;
revoked (from anywhere: a cancel, the CLI, Flower) -> Canceled. Retries are recorded by
``UserTaskMixin.retry`` itself, before the next attempt is published.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, TypeVar

from celery import current_app
from celery.signals import (
    before_task_publish,
    task_failure,
    task_postrun,
    task_prerun,
    task_revoked,
    task_success,
    worker_init,
    worker_process_init,
    worker_process_shutdown,
)
from django.db import InterfaceError, OperationalError, close_old_connections, connections, router
from django.db.backends.base.base import BaseDatabaseWrapper
from django.dispatch import receiver

from ..core import progress
from ..core.exceptions import TaskCanceledException
from ..core.models import UserTaskStatus
from ..core.signals import waiting_task_canceled
from ..core.states import UserTaskState
from .base import CACHED_STATUS, UserTaskMixin
from .flusher import flusher
from .heartbeat import heartbeat
from .messages import parse_message
from .rows import create_rows

logger = logging.getLogger(__name__)
T = TypeVar("T")


def _status_for(task_id: str | None) -> Any:
    return UserTaskStatus.objects.filter(task_id=task_id).first() if task_id else None


@before_task_publish.connect(dispatch_uid="user_tasks_graphql.create_user_task")
def create_user_task(sender: str | None = None, body: Any = None, headers: Any = None, **kwargs: Any) -> None:
    """Create the Pending rows of a task (and its canvas containers) before the broker has it."""
    if sender is None or body is None:
        return
    message = parse_message(sender, body, headers)
    is_user_task = isinstance(current_app.tasks.get(message.task_name), UserTaskMixin)
    if is_user_task or message.chain or message.chord_body:
        create_rows(message)


def _status_connection() -> BaseDatabaseWrapper:
    return connections[router.db_for_write(UserTaskStatus)]


def _close_old_connections() -> None:
    """Apply the connection settings once per task, as Django does per request: a connection past
    ``CONN_MAX_AGE`` or known broken is closed; never inside a transaction (eager tasks).

    ``CONN_HEALTH_CHECKS`` would add a ``SELECT 1`` before the task's first query. The start's own
    statement (reading the row, or writing the start) is that query and does the check's job
    (``_reconnecting``: a broken connection is replaced and the statement run again), so the
    status connection is marked checked.
    """
    try:
        connection = _status_connection()
        in_atomic = connection.in_atomic_block
    except Exception:
        return
    if not in_atomic:
        close_old_connections()
        if connection.connection is not None:
            connection.health_check_done = True  # type: ignore[attr-defined]


def _reconnecting(write: Callable[[], T]) -> T:
    """Run a status write; if the database connection is gone (a restart, a failover, a dropped
    idle connection), reconnect once and write again, so no status stays In Progress. A working
    connection costs nothing extra: no check before the write, no new connection per task."""
    try:
        return write()
    except (OperationalError, InterfaceError):
        connection = _status_connection()
        if connection.in_atomic_block:
            raise
        logger.info("Database connection lost; writing a task's state again on a new one", exc_info=True)
        connection.close()
        return write()


@worker_process_init.connect(dispatch_uid="user_tasks_graphql.worker_process_init")
@worker_init.connect(dispatch_uid="user_tasks_graphql.worker_init")
def enable_worker_threads(**kwargs: Any) -> None:
    """In a worker, increments a quiet task left in memory are written by a background thread."""
    progress.install_background_writer(flusher.watch)


@worker_process_shutdown.connect(dispatch_uid="user_tasks_graphql.stop_heartbeat")
def stop_heartbeat_thread(**kwargs: Any) -> None:
    """A process that stops running tasks stops touching their rows."""
    heartbeat.stop()


@receiver(waiting_task_canceled, dispatch_uid="user_tasks_graphql.revoke_canceled")
def revoke_canceled(sender: Any = None, task_id: str = "", **kwargs: Any) -> None:
    revoke_task(task_id)


def revoke_task(task_id: str) -> None:
    """Ask the workers to drop a queued task; a broker outage must not undo the cancel."""
    try:
        current_app.control.revoke(task_id)
    except Exception:  # the row is Canceled either way; the task notices at its next call
        logger.warning("Could not revoke task %s", task_id, exc_info=True)


@task_prerun.connect(dispatch_uid="user_tasks_graphql.start_user_task")
def start_user_task(sender: Any = None, task: Any = None, **kwargs: Any) -> None:
    task = task or sender
    if not isinstance(task, UserTaskMixin):
        return
    _close_old_connections()
    status = _reconnecting(task._start_status)
    if not task.request.is_eager:
        heartbeat.track(status.pk)


@task_postrun.connect(dispatch_uid="user_tasks_graphql.stop_heartbeat")
def stop_heartbeat(sender: Any = None, task: Any = None, **kwargs: Any) -> None:
    task = task or sender
    if isinstance(task, UserTaskMixin):
        cached = getattr(task.request, CACHED_STATUS, None)
        if cached is not None:
            heartbeat.untrack(cached.pk)


@task_success.connect(dispatch_uid="user_tasks_graphql.task_succeeded")
def task_succeeded(sender: Any = None, **kwargs: Any) -> None:
    if isinstance(sender, UserTaskMixin):
        _reconnecting(lambda: _succeed(sender))


def _succeed(task: UserTaskMixin) -> None:
    """Succeed unless the task ended otherwise; steps still in memory are written either way."""
    status = task.status
    if status.state in (UserTaskState.CANCELED, UserTaskState.FAILED, UserTaskState.RETRYING):
        status.flush_progress()
    else:
        status.succeed()


@task_failure.connect(dispatch_uid="user_tasks_graphql.task_failed")
def task_failed(
    sender: Any = None, task_id: str | None = None, exception: BaseException | None = None, **kwargs: Any
) -> None:
    """Fail the status with the error text for the user (a cancel keeps Canceled)."""
    if not isinstance(sender, UserTaskMixin) or isinstance(exception, TaskCanceledException):
        return
    message = str(exception) or type(exception).__name__
    _reconnecting(lambda: _fail(sender, task_id, message))  # the error may be the connection itself


def _fail(task: UserTaskMixin, task_id: str | None, message: str) -> None:
    cached = getattr(task.request, CACHED_STATUS, None)
    status = cached if cached is not None and cached.task_id == task_id else _status_for(task_id)
    if status is not None:
        status.fail(message)


@task_revoked.connect(dispatch_uid="user_tasks_graphql.task_revoked")
def task_was_revoked(sender: Any = None, request: Any = None, **kwargs: Any) -> None:
    """A revoke from outside (CLI, Flower, ``AsyncResult.revoke``) cancels the status too."""
    if isinstance(sender, UserTaskMixin):
        _reconnecting(lambda: _cancel(getattr(request, "id", None)))


def _cancel(task_id: str | None) -> None:
    status = _status_for(task_id)
    if status is not None:
        status.cancel(revoke=False)
