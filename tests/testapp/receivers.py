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
