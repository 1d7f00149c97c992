"""Sample tasks in the styles task authors use (ported from django-user-tasks' suite)."""

import contextlib
import os
import time
from typing import Any

from celery import Task, shared_task

from user_tasks_graphql.exceptions import TaskCanceledException
from user_tasks_graphql.models import UserTaskArtifact, UserTaskStatus
from user_tasks_graphql.tasks import UserTask, UserTaskMixin


class MinimalTask(UserTaskMixin, Task):
    pass


@shared_task(base=MinimalTask, bind=True)
def minimal_task(self: Any, user_id: int, argument: str, **kwargs: Any) -> None:
    pass


class SampleTask(UserTask):
    @classmethod
    def generate_name(cls, arguments_dict: dict[str, Any]) -> str:
        return f"SampleTask: {arguments_dict['arg1']}, {arguments_dict['arg2']}"

    @staticmethod
    def calculate_total_steps(arguments_dict: dict[str, Any]) -> int:
        return int(arguments_dict["arg1"]) * int(arguments_dict["arg2"])


@shared_task(base=SampleTask, bind=True)
def sample_task(self: Any, user_id: int, arg1: int, arg2: int, **kwargs: Any) -> None:
    pass


class StepTask(UserTask):
    """Named after its argument; total steps from the ``total_steps`` keyword (default 1)."""

    @classmethod
    def generate_name(cls, arguments_dict: dict[str, Any]) -> str:
        return f"StepTask: {arguments_dict['argument']}"

    @staticmethod
    def calculate_total_steps(arguments_dict: dict[str, Any]) -> int:
        return int(arguments_dict["kwargs"].get("total_steps", 1))


@shared_task(base=StepTask, bind=True)
def step_task(self: Any, user_id: int, argument: str, **kwargs: Any) -> str:
    return argument


@shared_task(base=StepTask, bind=True, name="custom.registered.name")
def custom_named_task(self: Any, user_id: int, argument: str, **kwargs: Any) -> str:
    return argument


@shared_task(base=StepTask, bind=True)
def result_step_task(self: Any, previous: Any, user_id: int, argument: str, **kwargs: Any) -> str:
    """A chain step that takes the previous step's result first (a mutable signature)."""
    return f"{previous}+{argument}"


@shared_task(base=StepTask, bind=True)
def progress_task(self: Any, user_id: int, argument: str, step_seconds: float = 0.0, **kwargs: Any) -> str:
    """Does its steps with set_state, progress and an artifact, like the seed's export task."""
    total = self.status.total_steps
    output = []
    for step in range(1, total + 1):
        self.status.set_state(f"Step {step} of {total}")
        if step_seconds:
            time.sleep(step_seconds)
        output.append(str(step))
        self.status.increment_completed_steps()
    UserTaskArtifact.objects.create(status=self.status, text=",".join(output))
    return argument


@shared_task(base=StepTask, bind=True)
def failing_task(self: Any, user_id: int, argument: str, **kwargs: Any) -> None:
    raise RuntimeError("Boom!")


@shared_task(base=StepTask, bind=True)
def manually_failed_task(self: Any, user_id: int, argument: str, **kwargs: Any) -> None:
    self.status.fail("Something went wrong")


@shared_task(base=StepTask, bind=True, max_retries=3)
def retried_task(self: Any, user_id: int, argument: str, **kwargs: Any) -> str:
    if self.request.retries == 0:
        raise self.retry(exc=RuntimeError("try again"), countdown=0)
    return argument


@shared_task(base=StepTask, bind=True, max_retries=1)
def always_retried_task(self: Any, user_id: int, argument: str, **kwargs: Any) -> None:
    raise self.retry(exc=RuntimeError("still broken"), countdown=0)


@shared_task(base=StepTask, bind=True)
def counting_task(self: Any, user_id: int, argument: str, **kwargs: Any) -> str:
    """Counts its steps one call at a time and nothing else, like a short loop over rows."""
    for _ in range(self.status.total_steps):
        self.status.increment_completed_steps()
    return argument


@shared_task(base=StepTask, bind=True)
def paced_counting_task(self: Any, user_id: int, argument: str, step_seconds: float = 0.0, **kwargs: Any) -> str:
    """Counts its steps with a pause before each, so its length can sit around the progress interval."""
    for _ in range(self.status.total_steps):
        time.sleep(step_seconds)
        self.status.increment_completed_steps()
    return argument


@shared_task(base=StepTask, bind=True)
def counting_in_process_task(self: Any, user_id: int, argument: str, step_seconds: float = 0.05, **kwargs: Any) -> str:
    """Counts its steps slowly; its progress text names the process running it, to kill it mid-count."""
    self.status.set_state(f"Counting in process {os.getpid()}")
    for _ in range(self.status.total_steps):
        time.sleep(step_seconds)
        self.status.increment_completed_steps()
    return argument


@shared_task(base=StepTask, bind=True)
def quietly_canceled_task(self: Any, user_id: int, argument: str, **kwargs: Any) -> str:
    """Is canceled while running, notices it, still counts two steps and returns normally."""
    UserTaskStatus.objects.get(pk=self.status.pk).cancel()
    with contextlib.suppress(TaskCanceledException):
        self.status.set_state("Still counting")  # the task now knows it was canceled
    for _ in range(2):
        with contextlib.suppress(TaskCanceledException):
            self.status.increment_completed_steps()
    return argument


@shared_task(base=StepTask, bind=True)
def self_canceled_task(self: Any, user_id: int, argument: str, **kwargs: Any) -> None:
    """Is canceled (as if by its user) while running, then notices at the next progress call."""
    UserTaskStatus.objects.get(pk=self.status.pk).cancel()
    self.status.increment_completed_steps()


@shared_task(base=StepTask, bind=True)
def wait_for_cancel_task(self: Any, user_id: int, argument: str, timeout: float = 30.0, **kwargs: Any) -> None:
    """Reports progress until someone cancels it (cooperative cancellation)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        self.status.set_state("Waiting to be canceled")
        time.sleep(0.05)
    raise RuntimeError("nobody canceled me")


@shared_task(base=StepTask, bind=True)
def sleeping_task(self: Any, user_id: int, argument: str, seconds: float = 30.0, **kwargs: Any) -> None:
    """Sleeps without progress calls: only the worker heartbeat shows it is alive.

    Its progress text names the process running it, so a test can kill exactly that process.
    """
    self.status.set_state(f"Sleeping in process {os.getpid()}")
    time.sleep(seconds)


@shared_task(bind=True)
def unbound_like_task(self: Any, argument: str) -> str:
    return argument


@shared_task
def normal_task(argument: str) -> str:
    return "placeholder"


@shared_task
def normal_failing_task(argument: str) -> None:
    raise RuntimeError("normal failure")


@shared_task(bind=True, max_retries=2)
def normal_retried_task(self: Any, argument: str) -> str:
    if self.request.retries == 0:
        raise self.retry(countdown=0)
    return argument


class UnboundUserTask(UserTask):
    @staticmethod
    def calculate_total_steps(arguments_dict: dict[str, Any]) -> int:
        return 2


@shared_task(base=UnboundUserTask)
def unbound_user_task(user_id: int, argument: str) -> str:
    return argument


__all__ = ["TaskCanceledException"]


@shared_task(base=StepTask, bind=True)
def missing_user_id(self: Any, *args: Any, **kwargs: Any) -> None:
    pass


@shared_task(base=StepTask, bind=True)
def slow_commit_task(self: Any, user_id: int, argument: str, commit_delay: float = 0.1, **kwargs: Any) -> None:
    """Each step's writes commit ``commit_delay`` seconds after they are made, as in a task that
    does its own work in the same transaction: nobody may hear of a step before it commits."""
    from django.db import transaction

    for step in range(1, self.status.total_steps + 1):
        with transaction.atomic():
            self.status.set_state(f"Step {step}")
            self.status.increment_completed_steps()
            time.sleep(commit_delay)
