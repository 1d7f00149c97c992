"""The Celery base class task authors subclass, and the app's own maintenance tasks."""

from __future__ import annotations

import contextlib
import inspect
from typing import TYPE_CHECKING, Any

from celery import Task, shared_task

from . import conf, maintenance
from .canvas import plan_apply, resolve_user_id, users_checked, validate_plan
from .exceptions import TaskCanceledException
from .progress import flusher
from .states import UserTaskState

if TYPE_CHECKING:
    from .models import UserTaskStatus

_CACHED_STATUS = "_user_task_status"


class UserTaskMixin:
    """Makes a Celery task keep a ``UserTaskStatus`` row (and its live updates) for its user.

    Put it before ``celery.Task`` in the bases (``class MyTask(UserTaskMixin, Task)``) or subclass
    ``UserTask``. Every call must pass ``user_id`` (positionally or by keyword); a missing or
    unknown user is refused at ``apply_async`` with ``TypeError``/``ValueError``.
    """

    if TYPE_CHECKING:
        name: str
        request: Any
        max_retries: int | None

    @classmethod
    def generate_name(cls, arguments_dict: dict[str, Any]) -> str:
        """The name users see; override to build it from the arguments."""
        return cls.__name__.rsplit(".", 1)[-1]

    @staticmethod
    def calculate_total_steps(arguments_dict: dict[str, Any]) -> int:
        """How many steps the progress bar has; override for real progress."""
        return 1

    @classmethod
    def arguments_as_dict(cls, *args: Any, **kwargs: Any) -> dict[str, Any]:
        """Every parameter of ``run`` by name (``*args``/``**kwargs`` under their own names)."""
        run = inspect.getattr_static(cls, "run")
        if isinstance(run, staticmethod):  # a task declared without bind=True
            return inspect.getcallargs(run.__func__, *args, **kwargs)
        return inspect.getcallargs(cls.run, None, *args, **kwargs)  # type: ignore[attr-defined]

    @property
    def status(self) -> UserTaskStatus:
        """This execution's status row, created here if the publisher did not (eager mode)."""
        request = self.request
        cached: UserTaskStatus | None = getattr(request, _CACHED_STATUS, None)
        if cached is None or cached.task_id != request.id:
            cached = self._find_or_create_status()
            setattr(request, _CACHED_STATUS, cached)
        return cached

    def _start_status(self) -> UserTaskStatus:
        """Start this execution's status and keep it: the worker's first step of every task.

        In a worker, a waiting row (Pending, Retrying) is only read (SQL built once, where the
        database allows) and its start deferred by ``USER_TASKS_START_DELAY``: a short task then
        makes one write in all, its result. Otherwise the start is written at once, in one
        statement that also reads the row where the database allows; a missing row is created
        (eager mode), a canceled one stays canceled (``__call__`` then skips the body).
        """
        from .models import UserTaskStatus

        request = self.request
        delay = conf.start_delay()
        if delay > 0 and flusher.enabled and not request.is_eager:
            found = UserTaskStatus.find_task(request.id)
            if found is not None:
                setattr(request, _CACHED_STATUS, found)
            status = self.status
            if status.state in (UserTaskState.PENDING, UserTaskState.RETRYING):
                status.defer_start(delay)
                return status
        else:
            started = UserTaskStatus.start_task(request.id)
            if started is not None:
                setattr(request, _CACHED_STATUS, started)
                return started
            status = self.status
        with contextlib.suppress(TaskCanceledException):
            status.start()
        return status

    def _find_or_create_status(self) -> UserTaskStatus:
        from .models import UserTaskStatus

        task_id = self.request.id
        found = UserTaskStatus.objects.filter(task_id=task_id).first()
        if found is not None:
            return found
        arguments = self.arguments_as_dict(*(self.request.args or ()), **(self.request.kwargs or {}))
        status, _ = UserTaskStatus.objects.get_or_create(
            task_id=task_id,
            defaults={
                "user_id": resolve_user_id(arguments),
                "name": self.generate_name(arguments),
                "task_class": self.name,
                "total_steps": self.calculate_total_steps(arguments),
            },
        )
        return status

    def apply_async(self, args: Any = None, kwargs: Any = None, **options: Any) -> Any:
        """Refuse to publish a call (or canvas) whose user tasks lack a valid ``user_id``."""
        user_ids = validate_plan(plan_apply(self.name, tuple(args or ()), dict(kwargs or {}), options))
        with users_checked(user_ids):
            return super().apply_async(args, kwargs, **options)  # type: ignore[misc]

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        """Skip the body of a task canceled before it started; write its last progress if it raised.

        After a return the success handler writes the steps still in memory with the final state,
        in one write and one event.
        """
        running_as_task = self.request.id and not self.request.called_directly
        if not running_as_task:
            return super().__call__(*args, **kwargs)  # type: ignore[misc]
        if self.status.state == UserTaskState.CANCELED:
            raise TaskCanceledException(f"Task {self.request.id} was canceled before it started")
        try:
            return super().__call__(*args, **kwargs)  # type: ignore[misc]
        except BaseException:
            self.status.flush_progress()
            raise

    def retry(self, *args: Any, **kwargs: Any) -> Any:
        """Record the retry before Celery publishes it, so the next attempt cannot start first."""
        max_retries = kwargs.get("max_retries")
        if max_retries is None:
            max_retries = self.max_retries
        if not self.request.called_directly and (max_retries is None or self.request.retries < max_retries):
            self.status.retry()
        return super().retry(*args, **kwargs)  # type: ignore[misc]


class UserTask(UserTaskMixin, Task):  # type: ignore[misc]
    """Abstract base for user tasks: ``@shared_task(base=MyUserTask, bind=True)``."""

    abstract = True


@shared_task(name="user_tasks_graphql.purge_old_user_tasks", ignore_result=True)
def purge_old_user_tasks() -> int:
    """Delete finished statuses older than ``USER_TASKS_MAX_AGE`` (schedule it with celery beat)."""
    return maintenance.purge_old_user_tasks()


@shared_task(name="user_tasks_graphql.reap_stale_user_tasks", ignore_result=True)
def reap_stale_user_tasks() -> int:
    """Fail running tasks whose worker went silent for ``USER_TASKS_STALE_AFTER``."""
    return maintenance.reap_stale_user_tasks()
