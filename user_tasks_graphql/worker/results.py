"""From what publishing returned to the status a user sees (the API is keyed by its ``uuid``)."""

from __future__ import annotations

from typing import Any

from ..core.models import UserTaskStatus


def status_for(result: Any) -> UserTaskStatus:
    """The status of what ``delay()`` or ``apply_async()`` published, a task or a whole canvas.

    ``result`` is what they returned (or its ``id``): a task's result, a group's (its id is the
    group's container), or a chain's or chord's (the result of its last task, whose row sits
    under the containers). The status is the outermost container's for a canvas, the task's own
    otherwise. Raises ``UserTaskStatus.DoesNotExist`` for a task that is not a user task.
    """
    task_id = result if isinstance(result, str) else result.id
    status = UserTaskStatus.objects.get(task_id=task_id)
    while status.parent_id is not None:
        status = UserTaskStatus.objects.get(pk=status.parent_id)
    return status
