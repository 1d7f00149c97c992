"""The state machine of a status row: every change a task, a worker or a user makes to it.

Each change is one conditional UPDATE that also bumps ``modified`` and ``seq``, so concurrent
workers and users cannot undo each other: a finished state (Succeeded, Failed, Canceled) is final,
and only the call that made a row finish announces it (``user_task_stopped``, after the commit).
Every change is published as a live event of each row it touched, after the commit.
"""

from __future__ import annotations

import datetime
import logging
import threading
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, Self, cast

from django.core.exceptions import EmptyResultSet
from django.db import router, transaction
from django.db.models import Case, Exists, F, Value, When
from django.db.models.functions import Greatest
from django.db.models.sql import UpdateQuery
from django.utils import timezone

from . import hot_writes
from .events import events_from_rows, load_events, returning_clause
from .exceptions import TaskCanceledException
from .progress import ProgressBuffer, flusher
from .publish import publish_events
from .states import ACTIVE_STATES, FINISHED_STATES, WAITING_STATES, UserTaskState

if TYPE_CHECKING:
    from django.db.models import QuerySet

    from .models import UserTaskStatus

logger = logging.getLogger(__name__)

MAX_STATE_TEXT = 255
_SYNCED = ("state", "state_text", "completed_steps", "total_steps", "attempts", "name", "modified", "seq")


def write(queryset: QuerySet[Any], **changes: Any) -> int:
    """UPDATE with ``modified`` and ``seq`` bumped: the one way rows change."""
    return int(queryset.update(**changes, modified=timezone.now(), seq=F("seq") + 1))


def write_returning(queryset: QuerySet[Any], **changes: Any) -> list[dict[str, Any]] | None:
    """``write`` that returns the rows it changed as events, in the same statement: no read after.

    None where that is not done (not PostgreSQL, or inside a transaction, whose events wait for
    the commit): the caller writes and reads as before.
    """
    connection = hot_writes.returning_connection(queryset.db)
    if connection is None:
        return None
    query = cast(UpdateQuery, queryset.query.chain(UpdateQuery))
    query.add_update_values({**changes, "modified": timezone.now(), "seq": F("seq") + 1})
    query.clear_select_clause()
    try:
        sql, params = query.get_compiler(queryset.db).as_sql()
    except EmptyResultSet:
        return []
    return events_from_rows(
        hot_writes.returning_rows(connection, sql + returning_clause(connection.ops.quote_name), list(params))
    )


def announce(pks: Iterable[int]) -> None:
    """Publish the committed state of these rows (after the transaction, if there is one)."""
    pks = list(pks)
    if pks:
        transaction.on_commit(lambda: publish_events(load_events(pks)), robust=True)


class StatusLifecycle:
    """State-machine methods of ``UserTaskStatus`` (mixed into the model)."""

    if TYPE_CHECKING:
        pk: int
        parent_id: int | None
        is_container: bool
        task_id: str
        task_class: str
        state: str
        state_text: str
        completed_steps: int
        total_steps: int
        attempts: int
        seq: int
        modified: datetime.datetime

    # ---- helpers -------------------------------------------------------------------------------

    def _rows(self) -> QuerySet[UserTaskStatus]:
        return type(self)._default_manager.all()  # type: ignore[attr-defined]

    def ancestors(self) -> list[tuple[int, str]]:
        """``(pk, task_class)`` of the parent, grandparent, ...; cached, since a parent never changes."""
        cached: list[tuple[int, str]] | None = self.__dict__.get("_ancestors")
        if cached is None:
            cached = []
            parent_id = self.parent_id
            while parent_id is not None:
                row = self._rows().filter(pk=parent_id).values_list("parent_id", "task_class").first()
                if row is None:
                    break
                cached.append((parent_id, row[1]))
                parent_id = row[0]
            self.__dict__["_ancestors"] = cached
        return cached

    def _ancestor_ids(self) -> list[int]:
        return [pk for pk, _ in self.ancestors()]

    def progress_buffer(self) -> ProgressBuffer:
        """Steps counted in memory, and the lock every change of this object takes (``ProgressBuffer``)."""
        buffer: ProgressBuffer | None = self.__dict__.get("_progress")
        if buffer is None:
            buffer = self.__dict__["_progress"] = ProgressBuffer()
        return buffer

    def _lock(self) -> threading.RLock:
        return self.progress_buffer().lock

    def _write(self, queryset: QuerySet[Any], **changes: Any) -> tuple[int, list[dict[str, Any]]]:
        """``write``: how many rows changed, and those rows as events when the UPDATE returned them."""
        events = write_returning(queryset, **changes)
        if events is None:
            return write(queryset, **changes), []
        return len(events), events

    def _sync(self, touched: Iterable[int], written: Iterable[dict[str, Any]] = ()) -> None:
        """Reload this row and publish every touched row; outside a transaction the rows an UPDATE
        returned (``written``) are not read again, the others are read at once."""
        touched = {self.pk, *touched}
        if transaction.get_connection().in_atomic_block:
            self._reload()
            announce(touched)
            return
        known = {event["id"]: event for event in written}
        missing = touched - known.keys()
        events = [*known.values(), *(load_events(missing) if missing else [])]
        mine = next((event for event in events if event["id"] == self.pk), None)
        if mine is None:
            raise TaskCanceledException(f"The status of task {self.task_id} was deleted")
        for name in _SYNCED:
            setattr(self, name, mine[name])
        self.modified = datetime.datetime.fromisoformat(mine["modified"])
        self.completed_steps += self.progress_buffer().pending
        publish_events(events)

    def _reload(self) -> None:
        """Reload what the methods change; a row deleted under a running task cancels it."""
        try:
            self.refresh_from_db(fields=list(_SYNCED))  # type: ignore[attr-defined]
        except type(self).DoesNotExist as exc:  # type: ignore[attr-defined]
            raise TaskCanceledException(f"The status of task {self.task_id} was deleted") from exc
        self.completed_steps += self.progress_buffer().pending

    def _finish(self, pk: int, state: UserTaskState, add_steps: int | None = None) -> tuple[bool, list[dict[str, Any]]]:
        """Move one row from an active to a final state: True if this call did it, and the row's event.

        ``add_steps`` (a success) also adds those steps to the row, filling it up to its total.
        """
        model = type(self)
        returned = hot_writes.finish(model, pk, state, add_steps)  # type: ignore[arg-type]
        if returned is None:
            changes = {}
            if add_steps is not None:
                changes["completed_steps"] = Greatest(F("completed_steps") + add_steps, F("total_steps"))
            finished, events = self._write(self._rows().filter(pk=pk, state__in=ACTIVE_STATES), state=state, **changes)
        else:
            finished, events = len(returned), returned
        if finished:
            transaction.on_commit(lambda: announce_stopped(type(self), pk), robust=True)
        return bool(finished), events

    def _add_steps(self, field: str, steps: int) -> None:
        """Add to this row and its ancestors, only while this row runs the attempt this object
        started: a finished row, or one another attempt took over, keeps its steps."""
        if steps:
            ids = [self.pk, *self._ancestor_ids()]
            model = type(self)
            events = hot_writes.add_steps(model, field, steps, self.pk, ids[1:], self.attempts)  # type: ignore[arg-type]
            if events is None:
                current = self._rows().filter(pk=self.pk, attempts=self.attempts, state__in=ACTIVE_STATES)
                rows = self._rows().filter(Exists(current), pk__in=ids)
                _, events = self._write(rows, **{field: F(field) + steps})
            self._sync(ids, events)

    def _raise_if_canceled(self) -> None:
        if self.state == UserTaskState.CANCELED and not self.is_container:
            raise TaskCanceledException(f"Task {self.task_id} was canceled")

    @staticmethod
    def _check_steps(steps: int) -> None:
        if not isinstance(steps, int) or isinstance(steps, bool) or steps < 0:
            raise ValueError(f"steps must be a non-negative integer, not {steps!r}")

    # ---- progress ------------------------------------------------------------------------------

    def increment_completed_steps(self, steps: int = 1) -> None:
        """Add ``steps`` to this status and every ancestor; raises once the task was canceled.

        Calls within ``USER_TASKS_PROGRESS_INTERVAL`` are summed and written together;
        ``completed_steps`` on this object is always the current count.
        """
        if type(steps) is not int or steps < 0:
            self._check_steps(steps)
        buffer = self.__dict__.get("_progress") or self.progress_buffer()
        with buffer.lock:
            self.completed_steps += steps
            write_now, first_waiting = buffer.add(steps)
            if first_waiting:  # a write of the row in the task's transaction took the earlier ones with it
                buffer.in_transaction = transaction.get_connection().in_atomic_block
            if write_now:
                self.flush_progress()
        if first_waiting and not write_now:
            flusher.watch(self)
        if self.state == UserTaskState.CANCELED and not self.is_container:
            self._raise_if_canceled()

    def flush_progress(self) -> None:
        """Write the increments counted in memory (every other change calls this first)."""
        buffer = self.__dict__.get("_progress")
        if buffer is None:
            return
        with buffer.lock:
            if buffer.take_start():
                self._write_start()
            steps = buffer.take()
            if steps:
                self.completed_steps -= steps
                self._add_steps("completed_steps", steps)

    def increment_total_steps(self, steps: int) -> None:
        """Add ``steps`` to the total of this status and every ancestor, atomically."""
        self._check_steps(steps)
        with self._lock():
            self.flush_progress()
            self._add_steps("total_steps", steps)

    # ---- the state machine ---------------------------------------------------------------------

    def start(self) -> None:
        """Mark the task In Progress (and waiting ancestors); a second start begins a new attempt.

        A second start of a running task means its message was delivered again after its worker
        was lost (``acks_late``): ``attempts`` grows and the steps restart, as for a retry.
        """
        with self._lock():
            self._drop_deferred_start()
            self.flush_progress()
            self._write_start()

    def defer_start(self, seconds: float) -> None:
        """Start a task whose row is waiting (Pending, Retrying) without writing yet: In Progress is
        written with its first other change, or after ``seconds`` by the worker's flusher thread;
        a task that ends sooner goes straight from waiting to its result, in one write."""
        with self._lock():
            self.state, self.state_text = UserTaskState.IN_PROGRESS, ""
            self.progress_buffer().defer_start(seconds)
        flusher.watch(self)

    def _drop_deferred_start(self) -> None:
        buffer = self.__dict__.get("_progress")
        if buffer is not None:
            buffer.take_start()

    def _write_start(self) -> None:
        """A waiting row goes In Progress; a running one (redelivered) begins a new attempt."""
        started, events = self._write(
            self._rows().filter(pk=self.pk, state__in=WAITING_STATES), state=UserTaskState.IN_PROGRESS, state_text=""
        )
        restarted = not started and not self.is_container and self._begin_attempt(UserTaskState.IN_PROGRESS)
        self._started(bool(started) or restarted, events, self._ancestor_ids() if restarted else [])

    def _begin_attempt(self, state: UserTaskState) -> bool:
        """Count another attempt of this running row and start its steps from zero (its ancestors
        lose what the earlier attempt added), in one transaction; False if it was not running."""
        ancestors = self._ancestor_ids()
        with transaction.atomic(using=router.db_for_write(type(self))):  # type: ignore[arg-type]
            done = (
                self._rows()
                .select_for_update()
                .filter(pk=self.pk, state__in=ACTIVE_STATES)
                .values_list("completed_steps", flat=True)
                .first()
            )
            if done is None:
                return False
            row = self._rows().filter(pk=self.pk)
            write(row, state=state, state_text="", completed_steps=0, attempts=F("attempts") + 1)
            if done and ancestors:
                less = Greatest(F("completed_steps") - done, Value(0))
                write(self._rows().filter(pk__in=ancestors), completed_steps=less)
        self.progress_buffer().take()  # steps the earlier attempt left in memory end with it
        return True

    @classmethod
    def find_task(cls, task_id: str) -> Self | None:
        """The status of Celery task ``task_id`` read with SQL built once (see ``hot_writes``); None
        where that does not apply or there is no row."""
        return cast("Self | None", hot_writes.find_by_task_id(cls, task_id))  # type: ignore[arg-type]

    @classmethod
    def start_task(cls, task_id: str) -> Self | None:
        """Start the waiting status of Celery task ``task_id`` and return it, reading it in the same write.

        A worker's way to start each task: one statement, no lookup before it. None where that
        does not apply (see ``hot_writes``) or no waiting row matched: find the row, call ``start``.
        """
        started = hot_writes.start_by_task_id(cls, task_id)  # type: ignore[arg-type]
        if started is None:
            return None
        status, event = started
        with status._lock():
            status._started(True, [event])
        return cast(Self, status)

    def _started(self, started: bool, events: list[dict[str, Any]], touched: Iterable[int] = ()) -> None:
        """After the start's write: waiting ancestors go In Progress too; every change is published."""
        touched = list(touched)
        if started and self.parent_id is not None:
            waiting = list(
                self._rows().filter(pk__in=self._ancestor_ids(), state__in=WAITING_STATES).values_list("pk", flat=True)
            )
            if waiting:
                _, ancestors = self._write(
                    self._rows().filter(pk__in=waiting, state__in=WAITING_STATES),
                    state=UserTaskState.IN_PROGRESS,
                    state_text="",
                )
                touched, events = [*touched, *waiting], [*events, *ancestors]
        self._sync(touched if started else (), events)
        self._raise_if_canceled()

    def set_name(self, name: str) -> None:
        """Rename this status and its ancestors (a container shows its current child's name)."""
        with self._lock():
            self.flush_progress()
            ids = [self.pk, *self._ancestor_ids()]
            _, events = self._write(self._rows().filter(pk__in=ids), name=name)
            self._sync(ids, events)

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
            _, events = self._write(
                self._rows().filter(pk__in=targets, state__in=ACTIVE_STATES),
                state_text=text,
                state=Case(When(state__in=WAITING_STATES, then=Value(UserTaskState.IN_PROGRESS)), default=F("state")),
            )
            self._sync(targets, events)
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
        from .models import UserTaskArtifact

        with self._lock():
            self._drop_deferred_start()
            self.flush_progress()
            ids = [self.pk, *self._ancestor_ids()]
            with transaction.atomic():
                for pk in ids:
                    if self._finish(pk, UserTaskState.FAILED)[0]:
                        UserTaskArtifact.objects.create(status_id=pk, name="Error", text=str(message))
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
            finished, events = self._finish(self.pk, UserTaskState.SUCCEEDED, add_steps=pending)
        else:
            with transaction.atomic(using=router.db_for_write(type(self))):  # type: ignore[arg-type]
                added = self._steps_to_fill(pending)
                finished, events = self._finish(self.pk, UserTaskState.SUCCEEDED, add_steps=pending)
                if finished and added:
                    touched = self._ancestor_ids()
                    write(self._rows().filter(pk__in=touched), completed_steps=F("completed_steps") + added)
        if not finished:  # it had ended otherwise (final states keep their steps): show it here
            self.refresh_from_db(fields=list(_SYNCED))  # type: ignore[attr-defined]
            return False
        self._sync(touched, events)  # one event per row for the whole change
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

        A task still waiting in the queue (Pending or Retrying) is revoked after the commit; a
        running one notices at its next progress call. ``revoke=False`` records a revoke that
        Celery already did.
        """
        if self.is_container:
            for child in self._rows().filter(parent_id=self.pk):
                child.cancel(revoke=revoke)
        with self._lock():
            self.refresh_from_db(fields=["state"])  # type: ignore[attr-defined]
            waiting = not self.is_container and self.state in WAITING_STATES
            canceled, events = self._finish(self.pk, UserTaskState.CANCELED)
            if canceled and waiting and revoke:
                task_id = self.task_id
                transaction.on_commit(lambda: revoke_task(task_id), robust=True)
            self._sync((), events)


def announce_stopped(model: Any, pk: int) -> None:
    """Send ``user_task_stopped`` with the committed row (skipped if it was deleted meanwhile)."""
    from . import user_task_stopped

    if not user_task_stopped.has_listeners(model):
        return
    status = model._default_manager.filter(pk=pk).first()
    if status is not None:
        user_task_stopped.send_robust(sender=model, status=status)


def revoke_task(task_id: str) -> None:
    """Ask the workers to drop a queued task; a broker outage must not undo the cancel."""
    from celery import current_app

    try:
        current_app.control.revoke(task_id)
    except Exception:  # the row is Canceled either way; the task notices at its next call
        logger.warning("Could not revoke task %s", task_id, exc_info=True)


__all__ = ["StatusLifecycle", "announce", "write"]
