"""What one progress update costs, against the floor of one bare UPDATE measured alongside."""

from __future__ import annotations

import uuid

from django.contrib.auth import get_user_model
from django.db.models import F

from bench.harness import Timing, measure, report


def run(repeat: int) -> str:
    from user_tasks_graphql.models import UserTaskStatus

    user = get_user_model().objects.create_user(f"bench-{uuid.uuid4().hex[:6]}")

    def status(parent: UserTaskStatus | None = None, kind: str | None = None) -> UserTaskStatus:
        return UserTaskStatus.objects.create(
            user=user,
            task_id=str(uuid.uuid4()),
            parent=parent,
            is_container=bool(kind),
            task_class=f"celery.{kind}" if kind else "bench.task",
            name="bench",
            total_steps=10**9,
            state=UserTaskStatus.IN_PROGRESS,
        )

    standalone = status()
    chord = status(kind="chord")
    child = status(parent=status(parent=chord, kind="group"))
    child.ancestors()
    floor_rows = UserTaskStatus.objects.filter(pk=standalone.pk)

    baseline = measure(
        "floor: one UPDATE completed_steps + 1",
        lambda: floor_rows.update(completed_steps=F("completed_steps") + 1),
        repeat,
    )
    timings: list[Timing] = [
        measure("increment_completed_steps(), standalone", standalone.increment_completed_steps, repeat),
        measure("increment_completed_steps(), child in chord > group", child.increment_completed_steps, repeat),
        measure("set_state(text), standalone", lambda: standalone.set_state("Exporting"), repeat),
    ]
    return report("Update cost: one progress call", baseline, timings)
