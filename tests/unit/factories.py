"""Small builders for status trees, mirroring django-user-tasks' test fixtures."""

import uuid
from typing import Any

from user_tasks_graphql.models import UserTaskStatus


def make_status(user: Any, **fields: Any) -> UserTaskStatus:
    """A status with the upstream suite's defaults: 'SampleTask', In Progress, 5 steps."""
    defaults: dict[str, Any] = {
        "task_id": str(uuid.uuid4()),
        "task_class": "tests.testapp.tasks.sample_task",
        "name": "SampleTask",
        "state": UserTaskStatus.IN_PROGRESS,
        "total_steps": 5,
    }
    defaults.update(fields)
    return UserTaskStatus.objects.create(user=user, **defaults)


def make_container(user: Any, kind: str = "chain", **fields: Any) -> UserTaskStatus:
    fields.setdefault("state", UserTaskStatus.PENDING)
    fields.setdefault("name", "SampleContainer")
    return make_status(user, task_class=f"celery.{kind}", is_container=True, **fields)


def reload(status: UserTaskStatus) -> UserTaskStatus:
    return UserTaskStatus.objects.get(pk=status.pk)


def make_waiting(user: Any, name: str, **fields: Any) -> UserTaskStatus:
    """A new task as publishing leaves it: Pending, one step, nothing done."""
    return UserTaskStatus.objects.create(
        user=user, task_id=str(uuid.uuid4()), task_class="tests.sample", name=name, total_steps=1, **fields
    )
