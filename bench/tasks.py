"""Tasks the benchmarks run: the same loop untracked, tracked by us, tracked by django-user-tasks."""

from __future__ import annotations

import functools
import hashlib
import os
import time
import weakref
from typing import Any

from celery import shared_task
from celery.signals import task_postrun, task_prerun, worker_init

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


# ---- throughput through a real worker (bench/throughput.py) ------------------------------------
#
# The same loop of ``steps`` progress calls, untracked, on our base and on django-user-tasks'. The
# worker is started with ``-I bench.tasks`` and ``BENCH_TASK_LOG``: every task of these three then
# appends "name start end state" to that file, from its prerun signal to its postrun signal (so the
# status writes of the start and of the success are inside the span).

THROUGHPUT_TASKS = ("bench.tasks.bare_calls", "bench.tasks.tracked_calls", "bench.tasks.anchor_calls")
_started: dict[str, float] = {}


@shared_task(bind=True, name="bench.tasks.bare_calls", ignore_result=True)
def bare_calls(self: Any, user_id: int, steps: int) -> None:
    for _ in range(steps):
        pass


@shared_task(base=BenchTask, bind=True, name="bench.tasks.tracked_calls", ignore_result=True)
def tracked_calls(self: Any, user_id: int, steps: int) -> None:
    for _ in range(steps):
        self.status.increment_completed_steps()


@functools.cache
def anchor_calls_task() -> Any:
    """The same loop on django-user-tasks' base class.

    Named by its import path: django-user-tasks creates a status at publish only for a task whose
    name ``import_string`` resolves (``bench.tasks.anchor_calls``, through the module ``__getattr__``).
    """
    from user_tasks.tasks import UserTask as AnchorUserTask

    class AnchorCallsTask(AnchorUserTask):
        @staticmethod
        def calculate_total_steps(arguments_dict: dict[str, Any]) -> int:
            return int(arguments_dict["steps"])

    @shared_task(base=AnchorCallsTask, bind=True, name="bench.tasks.anchor_calls", ignore_result=True)
    def anchor_calls(self: Any, user_id: int, steps: int) -> None:
        for _ in range(steps):
            self.status.increment_completed_steps()

    return anchor_calls


def __getattr__(name: str) -> Any:
    if name == "anchor_calls":  # built once the app registry is ready (django-user-tasks imports models)
        return anchor_calls_task()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


@worker_init.connect(dispatch_uid="bench.tasks.prepare_worker")
def prepare_worker(**kwargs: Any) -> None:
    """In a worker: register django-user-tasks' variants before the pool forks, order the prerun
    receivers (``_prerun_order``), and drop the test app's receiver of ``user_task_stopped`` (bench
    settings extend the test settings; it INSERTs a row per finished task, a cost of the test suite,
    not of the library)."""
    from django.apps import apps

    anchor_task()
    anchor_calls_task()
    prerun: Any = task_prerun
    with prerun.lock:
        prerun.receivers.sort(key=_prerun_order)
        prerun.sender_receivers_cache.clear()
    if apps.is_installed("tests.testapp"):
        from user_tasks_graphql import user_task_stopped
        from user_tasks_graphql.models import UserTaskStatus

        user_task_stopped.disconnect(sender=UserTaskStatus, dispatch_uid="testapp.record_stop")


def _prerun_order(entry: tuple[Any, Any]) -> tuple[bool, bool]:
    """This module's ``task_started`` first (it sees a task before both libraries write its start),
    then django-user-tasks' handler: it closes old connections before every task, its own or not,
    which after ours would make our next status write check the connection again."""
    receiver = entry[1]() if isinstance(entry[1], weakref.ReferenceType) else entry[1]
    return entry[0][0] != "bench.tasks.task_started", getattr(receiver, "__module__", "") != "user_tasks.signals"


@task_prerun.connect(dispatch_uid="bench.tasks.task_started")
def task_started(task_id: str | None = None, task: Any = None, **kwargs: Any) -> None:
    if task_id and getattr(task, "name", None) in THROUGHPUT_TASKS and os.environ.get("BENCH_TASK_LOG"):
        _started[task_id] = time.time()


@task_postrun.connect(dispatch_uid="bench.tasks.task_finished")
def task_finished(task_id: str | None = None, task: Any = None, state: str | None = None, **kwargs: Any) -> None:
    path = os.environ.get("BENCH_TASK_LOG")
    started = _started.pop(task_id or "", None)
    if path and started is not None:
        with open(path, "a") as log:  # one short O_APPEND write per task: lines of both children stay whole
            log.write(f"{task.name} {started:.6f} {time.time():.6f} {state}\n")


# ---- celery-progress (bench/push_vs_poll.py) ---------------------------------------------------


@shared_task(bind=True, name="bench.tasks.celery_progress_loop")
def celery_progress_loop(self: Any, steps: int) -> None:
    """The loop as celery-progress's README writes it: ``set_progress`` after each step."""
    from celery_progress.backend import ProgressRecorder

    recorder = ProgressRecorder(self)
    for step in range(steps):
        one_step_of_work()
        recorder.set_progress(step + 1, steps)
