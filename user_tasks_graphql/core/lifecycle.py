"""The state machine of a status row: every change a task, a worker or a user makes to it.

Each change is one conditional UPDATE (``writes.py``), so concurrent workers and users cannot undo
each other: a finished state (Succeeded, Failed, Canceled) is final, and only the call that made a
row finish announces it (``user_task_stopped``, after the commit). Every change is announced as an
event of each row it touched (``signals.statuses_changed``), after the commit.

Each status object has one re-entrant lock that the task thread and the worker's background
writer hold from reading the in-memory counts to applying the written row, so they take turns and
each step is written once (``progress.ProgressBuffer``).
"""

from __future__ import annotations

import contextlib
from typing import Any, Self, cast

from django.db import router, transaction
from django.db.models import F

from . import progress, writes
from .exceptions import TaskCanceledException
from .row import SYNCED
from .signals import user_task_stopped, waiting_task_canceled
from .states import FINISHED_STATES, WAITING_STATES, UserTaskState
from .steps import StepCounting

MAX_STATE_TEXT = 255


class StatusLifecycle(StepCounting):
    """State-machine methods of ``UserTaskStatus`` (mixed into the model)."""

    @classmethod
    def start_task(cls, task_id: str, defer: float = 0.0) -> Self | None:
        """A worker's start of Celery task ``task_id``: its status, started; None if it has no row.

        With ``defer`` (and a background writer, as in a worker) a waiting row is only read and its
        start deferred that long (``start``). Otherwise a waiting row is started in the same
        statement that reads it, where the database allows. A canceled row stays canceled.
        """
        model = cast(Any, cls)
        status: Self | None = None
        if defer > 0 and progress.has_background_writer():
            status = writes.find_by_task_id(model, task_id)
        else:
            started = writes.start_by_task_id(model, task_id)
            if started is not None:
                status, event = started
                with status._lock():
                    status._started(True, [event])
                return status
        if status is None:
            status = model._default_manager.filter(task_id=task_id).first()
            if status is None:
                return None
        with contextlib.suppress(TaskCanceledException):
            status.start(defer=defer if progress.has_background_writer() else 0.0)
        return status

    def start(self, defer: float = 0.0) -> None:
        """Mark the task In Progress (and waiting ancestors); a second start begins a new attempt.

        A second start of a running task means its message was delivered again after its worker
        was lost (``acks_late``): ``attempts`` grows and the steps restart, as for a retry.
        ``defer`` seconds (a waiting row only): written with the row's next change, or by the
        background writer after that long; a task that ends sooner writes its result alone.
        """
        with self._lock():
            if defer > 0 and self.state in WAITING_STATES:
                self._defer_start(defer)
                return
            self._drop_deferred_start()
            self.flush_progress()
            self._write_start()

    def set_name(self, name: str) -> None:
        """Rename this status and its ancestors (a container shows its current child's name)."""
        with self._lock():
            self.flush_progress()
            ids = [self.pk, *self._ancestor_ids()]
            self._sync(ids, writes.rename(self._model(), ids, name).events)

    def set_state(self, custom_state: str) -> None:
        """Show ``custom_state`` as the progress text; chain and chord parents show it too, groups not.

        Raises ``TaskCanceledException`` (writing nothing) once the task was canceled.
        """
        with self._lock():
            self.flush_progress()
            text = str(custom_state)[:MAX_STATE_TEXT]
            targets = [self.pk]
            for pk, task_class in self.ancestors():
                if task_class == "celery.group":
                    break
                targets.append(pk)
            if (
                not self.is_container
                and not self._rows().filter(pk=self.pk).exclude(state=UserTaskState.CANCELED).exists()
            ):
                self.state = UserTaskState.CANCELED
                self._raise_if_canceled()
            self._sync(targets, writes.show_text(self._model(), targets, text).events)
        self._raise_if_canceled()

    def retry(self) -> None:
        """Wait for another attempt (Retrying), counting it; it will start its steps from zero
        (the ancestors lose this attempt's steps). The parent is not otherwise affected."""
        with self._lock():
            self._drop_deferred_start()
            retrying = self._begin_attempt(UserTaskState.RETRYING)
            self._sync(self._ancestor_ids() if retrying else ())

    def fail(self, message: str) -> None:
        """Fail this status and its unfinished ancestors, each with an 'Error' artifact of ``message``."""
        artifacts = self.artifacts.model._default_manager  # type: ignore[attr-defined]
        with self._lock():
            self._drop_deferred_start()
            self.flush_progress()
            ids = [self.pk, *self._ancestor_ids()]
            with transaction.atomic(using=router.db_for_write(self._model())):
                for pk in ids:
                    if self._finish(pk, UserTaskState.FAILED).changed:
                        artifacts.create(status_id=pk, name="Error", text=str(message))
                self._sync(ids)

    def succeed(self) -> None:
        """Fill the remaining steps and succeed; the parent succeeds once all its children have.

        Steps still counted in memory go into the same write, so clients get one final event.
        """
        with self._lock():
            finished = self._succeed_row()
        if finished and self.parent_id is not None:
            siblings = self._rows().filter(parent_id=self.parent_id)
            if not siblings.exclude(state=UserTaskState.SUCCEEDED).exists():
                parent = self._rows().get(pk=self.parent_id)
                parent.succeed()

    def _succeed_row(self) -> bool:
        """Succeed this row with the steps still in memory; a child fills its ancestors in the same
        transaction, so a sibling that sees it Succeeded (and may succeed the parent, filling it
        up to its total) sees its steps in the parent too."""
        self._drop_deferred_start()  # it goes from waiting to its result in this one write
        pending = self.progress_buffer().take()
        touched: list[int] = []
        if self.parent_id is None:
            written = self._finish(self.pk, UserTaskState.SUCCEEDED, add_steps=pending)
        else:
            with transaction.atomic(using=router.db_for_write(self._model())):
                added = self._steps_to_fill(pending)
                written = self._finish(self.pk, UserTaskState.SUCCEEDED, add_steps=pending)
                if written.changed and added:
                    touched = self._ancestor_ids()
                    writes.update(self._rows().filter(pk__in=touched), completed_steps=F("completed_steps") + added)
        if not written.changed:  # it had ended otherwise (final states keep their steps): show it here
            self.refresh_from_db(fields=list(SYNCED))  # type: ignore[attr-defined]
            return False
        self._sync(touched, written.events)  # one event per row for the whole change
        return True

    def _steps_to_fill(self, pending: int) -> int:
        """The steps succeeding adds to this row (so to each ancestor): ``pending`` at least, up to
        the total. Read, and locked, in the success's transaction."""
        row = self._rows().select_for_update().filter(pk=self.pk).values_list("state", "completed_steps", "total_steps")
        state, completed, total = row.get()
        if state in FINISHED_STATES:
            return 0
        return pending + max(0, total - completed - pending)

    def cancel(self, *, revoke: bool = True) -> None:
        """Cancel this status (a container: its children first); a no-op once finished.

        A task still waiting in the queue (Pending or Retrying) is revoked after the commit
        (``waiting_task_canceled``); a running one notices at its next progress call.
        ``revoke=False`` records a revoke that Celery already did.
        """
        if self.is_container:
            for child in self._rows().filter(parent_id=self.pk):
                child.cancel(revoke=revoke)
        with self._lock():
            self.refresh_from_db(fields=["state"])  # type: ignore[attr-defined]
            waiting = not self.is_container and self.state in WAITING_STATES
            written = self._finish(self.pk, UserTaskState.CANCELED)
            if written.changed and waiting and revoke:
                task_id, model = self.task_id, self._model()
                transaction.on_commit(
                    lambda: waiting_task_canceled.send_robust(sender=model, task_id=task_id), robust=True
                )
            self._sync((), written.events)

    def _finish(self, pk: int, state: UserTaskState, add_steps: int | None = None) -> writes.Written:
        """Move one row from an active to a final state (``changed`` 1 if this call did it); ``add_steps``
        (a success) also adds those steps to the row, filling it up to its total."""
        written = writes.finish(self._model(), pk, state, add_steps)
        if written.changed:
            model = self._model()
            transaction.on_commit(lambda: announce_stopped(model, pk), robust=True)
        return written


def announce_stopped(model: Any, pk: int) -> None:
    """Send ``user_task_stopped`` with the committed row (skipped if it was deleted meanwhile)."""
    if not user_task_stopped.has_listeners(model):
        return
    status = model._default_manager.filter(pk=pk).first()
    if status is not None:
        user_task_stopped.send_robust(sender=model, status=status)
