"""Exact step counts through a real prefork worker under CPU contention.

Hundreds of short tasks whose length sits around ``USER_TASKS_PROGRESS_INTERVAL`` (so the task's
own writes, the flusher thread's trailing writes and the final write meet as often as they can),
standalone and in groups, on 8 worker processes while two busy loops take the machine's cores.
Every task must end Succeeded with exactly its steps, once, and every group with its children's sum.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from celery import group
from django.db import transaction

from tests.integration.conftest import Worker, wait_for
from tests.testapp import tasks
from user_tasks_graphql.core.states import FINISHED_STATES
from user_tasks_graphql.models import UserTaskStatus

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

STANDALONE, GROUPS, GROUP_SIZE, STEPS = 240, 20, 3, 5
INTERVAL = 0.2
PACES = (0.0, 0.02, 0.035, 0.04, 0.045, 0.05, 0.06)  # 5 steps: 0 to 0.3 s, around the interval


@pytest.fixture
def busy_cores() -> Iterator[None]:
    """Two busy loops: the worker's threads are preempted at arbitrary points."""
    loops = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(2)]
    yield
    for loop in loops:
        loop.kill()
        loop.wait()


def test_every_step_is_counted_once(user: Any, start_worker: Callable[..., Worker], busy_cores: None, settings: Any):
    settings.USER_TASKS_MAX_ACTIVE_PER_USER = None  # one user's 300 tasks: a stress test, not a quota test
    worker = start_worker(concurrency=8, TEST_USER_TASKS_PROGRESS_INTERVAL=str(INTERVAL))
    for n in range(STANDALONE):
        tasks.paced_counting_task.delay(user.id, f"alone-{n}", step_seconds=PACES[n % len(PACES)], total_steps=STEPS)
    for n in range(GROUPS):
        children = [
            tasks.paced_counting_task.s(user.id, f"group-{n}-{k}", step_seconds=PACES[(n + k) % len(PACES)],
                                        total_steps=STEPS)
            for k in range(GROUP_SIZE)
        ]  # fmt: skip
        with transaction.atomic():  # its members join it at once (docs/task-authors.md, "Canvases")
            group(children).delay()

    expected_rows = STANDALONE + GROUPS * (GROUP_SIZE + 1)

    def all_finished() -> bool:
        rows = UserTaskStatus.objects.filter(user=user)
        return rows.count() == expected_rows and not rows.exclude(state__in=FINISHED_STATES).exists()

    wait_for(all_finished, timeout=240, what="every task to finish")
    rows = list(UserTaskStatus.objects.filter(user=user).values("pk", "name", "state", "completed_steps", "total_steps",
                                                                "attempts", "is_container"))  # fmt: skip
    leaves = [row for row in rows if not row["is_container"]]
    counts = [(row["state"], row["completed_steps"], row["total_steps"], row["attempts"]) for row in leaves]
    wrong = [row for row, count in zip(leaves, counts, strict=True) if count != ("Succeeded", STEPS, STEPS, 1)]
    assert wrong == [], f"{len(wrong)} tasks ended with a wrong count"
    groups = [row for row in rows if row["is_container"]]
    assert len(groups) == GROUPS
    sums = [(row["state"], row["completed_steps"]) for row in groups]
    wrong_groups = [row for row, total in zip(groups, sums, strict=True) if total != ("Succeeded", GROUP_SIZE * STEPS)]
    children = {
        row["pk"]: list(UserTaskStatus.objects.filter(parent_id=row["pk"])
                          .values("name", "state", "completed_steps", "total_steps", "attempts", "seq"))
        for row in wrong_groups
    }  # fmt: skip
    assert wrong_groups == [], f"a group holds its children's sum: {children}"
    assert "Traceback" not in worker.output()
