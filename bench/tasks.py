"""Tasks the benchmarks run: the same loop untracked, tracked by us, tracked by django-user-tasks."""

from __future__ import annotations

import hashlib
from typing import Any

from celery import shared_task

from user_tasks_graphql.tasks import UserTask

BLOCK = b"x" * 4096


def one_step_of_work() -> None:
    """Hashing 64 KiB (about 40 microseconds here), standing in for one row of an export."""
    for _ in range(16):
        hashlib.sha256(BLOCK).digest()


class BenchTask(UserTask):
    @staticmethod
    def calculate_total_steps(arguments_dict: dict[str, Any]) -> int:
        return int(arguments_dict["steps"])


@shared_task(bind=True, name="bench.untracked_loop")
def untracked_loop(self: Any, user_id: int, steps: int) -> None:
    for _ in range(steps):
        one_step_of_work()


@shared_task(base=BenchTask, bind=True, name="bench.tracked_loop")
def tracked_loop(self: Any, user_id: int, steps: int) -> None:
    for _ in range(steps):
        one_step_of_work()
        self.status.increment_completed_steps()


def anchor_task() -> Any:
    """The same loop on django-user-tasks' base class (bench extra installed)."""
    from user_tasks.tasks import UserTask as AnchorUserTask

    class AnchorBenchTask(AnchorUserTask):
        @staticmethod
        def calculate_total_steps(arguments_dict: dict[str, Any]) -> int:
            return int(arguments_dict["steps"])

    @shared_task(base=AnchorBenchTask, bind=True, name="bench.anchor_loop")
    def anchor_loop(self: Any, user_id: int, steps: int) -> None:
        for _ in range(steps):
            one_step_of_work()
            self.status.increment_completed_steps()

    return anchor_loop
