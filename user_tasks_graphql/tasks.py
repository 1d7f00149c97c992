"""The Celery base class task authors subclass (``UserTask``, ``UserTaskMixin``), ``status_for``
(the status of what a call published), and the app's own maintenance tasks (found by Celery's
``autodiscover_tasks``)."""

from celery import shared_task

from .core import maintenance
from .worker.base import UserTask, UserTaskMixin
from .worker.results import status_for


@shared_task(name="user_tasks_graphql.purge_old_user_tasks", ignore_result=True)
def purge_old_user_tasks() -> int:
    """Delete finished statuses older than ``USER_TASKS_MAX_AGE`` (schedule it with celery beat)."""
    return maintenance.purge_old_user_tasks()


@shared_task(name="user_tasks_graphql.reap_stale_user_tasks", ignore_result=True)
def reap_stale_user_tasks() -> int:
    """Fail running tasks whose worker went silent for ``USER_TASKS_STALE_AFTER``."""
    return maintenance.reap_stale_user_tasks()


__all__ = ["UserTask", "UserTaskMixin", "purge_old_user_tasks", "reap_stale_user_tasks", "status_for"]
