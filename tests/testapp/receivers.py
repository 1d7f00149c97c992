from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.dispatch import receiver

from user_tasks_graphql import user_task_stopped
from user_tasks_graphql.models import UserTaskStatus

from .models import StoppedSignal


@receiver(user_task_stopped, sender=UserTaskStatus, dispatch_uid="testapp.record_stop")
def record_stop(sender: Any, status: UserTaskStatus, **kwargs: Any) -> None:
    StoppedSignal.objects.create(
        status_uuid=status.uuid, task_id=status.task_id, state=status.state, is_container=status.is_container
    )


@contextmanager
def stops_unrecorded() -> Iterator[None]:
    """Without this app's ``user_task_stopped`` receiver, for tests that count what the library
    itself does (the receiver INSERTs a row per finished task)."""
    user_task_stopped.disconnect(sender=UserTaskStatus, dispatch_uid="testapp.record_stop")
    try:
        yield
    finally:
        user_task_stopped.connect(record_stop, sender=UserTaskStatus, dispatch_uid="testapp.record_stop")
