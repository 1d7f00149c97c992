"""The Celery base class task authors subclass."""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING, Any

from celery import Task

from ..core import conf, quota
from ..core.exceptions import TaskCanceledException
from ..core.models import UserTaskStatus
from ..core.states import UserTaskState
from .plan import plan_apply
from .spec import UserTaskSpec
from .users import new_tasks_by_user, resolve_user_id, users_checked, validate_plan

CACHED_STATUS = "_user_task_status"


class UserTaskMixin(UserTaskSpec):
    """Makes a Celery task keep a ``UserTaskStatus`` row (and its live updates) for its user.

    Put it before ``celery.Task`` in the bases (``class MyTask(UserTaskMixin, Task)``) or subclass
    ``UserTask``. Every call must pass ``user_id`` (positionally or by keyword); a missing or
    unknown user is refused at ``apply_async`` with ``TypeError``/``ValueError``.
    """

    if TYPE_CHECKING:
        name: str
        request: Any
        max_retries: int | None

    #: A cancel is not an error: Celery logs these as one INFO line, without a traceback, and error
    #: trackers that honour ``Task.throws`` (Sentry's Celery integration) report nothing.
    throws: tuple[type[BaseException], ...] = (TaskCanceledException,)

    def __init_subclass__(cls, **kwargs: Any) -> None:
        """A task class that declares its own ``throws`` keeps the cancel among them."""
        super().__init_subclass__(**kwargs)
        if TaskCanceledException not in cls.throws:
            cls.throws = (*cls.throws, TaskCanceledException)

    @property
    def status(self) -> UserTaskStatus:
        """This execution's status row, created here if the publisher did not (eager mode)."""
        request = self.request
        cached: UserTaskStatus | None = getattr(request, CACHED_STATUS, None)
        if cached is None or cached.task_id != request.id:
            cached = self._find_or_create_status()
            setattr(request, CACHED_STATUS, cached)
        return cached

    def _start_status(self) -> UserTaskStatus:
        """Start this execution's status and keep it: the worker's first step of every task.

        In a worker the start of a waiting row is deferred by ``USER_TASKS_START_DELAY``
        (``UserTaskStatus.start_task``): a short task then makes one write in all, its result. A
        missing row is created (eager mode); a canceled one stays canceled (``__call__`` then
        skips the body).
        """
        request = self.request
        status = UserTaskStatus.start_task(request.id, defer=0.0 if request.is_eager else conf.start_delay())
        if status is None:
            status = self.status
            with contextlib.suppress(TaskCanceledException):
                status.start()
        setattr(request, CACHED_STATUS, status)
        return status

    def _find_or_create_status(self) -> UserTaskStatus:
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
        """Refuse to publish a call (or canvas) whose user tasks lack a valid ``user_id``, or that
        would give a user more unfinished tasks than ``USER_TASKS_MAX_ACTIVE_PER_USER``
        (``TaskLimitExceeded``; a chain is refused whole, a group or chord member by member)."""
        tasks = validate_plan(plan_apply(self.name, tuple(args or ()), dict(kwargs or {}), options))
        eager = self.app.conf.task_always_eager  # type: ignore[attr-defined]
        with users_checked({user_id for user_id, _ in tasks}), quota.reserved(new_tasks_by_user(tasks), hold=not eager):
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
