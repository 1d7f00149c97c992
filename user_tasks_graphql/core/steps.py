"""Counting steps: increments are summed in memory (``progress.ProgressBuffer``) and written to the
row and its ancestors together, only while the row runs the attempt that counted them."""

from __future__ import annotations

from django.db import transaction

from . import progress, writes
from .starting import Starting
from .states import UserTaskState


def check_steps(steps: int) -> None:
    if not isinstance(steps, int) or isinstance(steps, bool) or steps < 0:
        raise ValueError(f"steps must be a non-negative integer, not {steps!r}")


class StepCounting(Starting):
    def increment_completed_steps(self, steps: int = 1) -> None:
        """Add ``steps`` to this status and every ancestor; raises once the task was canceled.

        Calls within ``USER_TASKS_PROGRESS_INTERVAL`` are summed and written together;
        ``completed_steps`` on this object is always the current count.
        """
        if type(steps) is not int or steps < 0:
            check_steps(steps)
        buffer = self.__dict__.get("_progress") or self.progress_buffer()
        with buffer.lock:
            self.completed_steps += steps
            write_now, first_waiting = buffer.add(steps)
            if first_waiting:  # a write of the row in the task's transaction took the earlier ones with it
                buffer.in_transaction = transaction.get_connection().in_atomic_block
            if write_now:
                self.flush_progress()
        if first_waiting and not write_now:
            progress.watch(self)
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
        check_steps(steps)
        with self._lock():
            self.flush_progress()
            self._add_steps("total_steps", steps)

    def _add_steps(self, field: str, steps: int) -> None:
        """Add to this row and its ancestors, only while this row runs the attempt this object
        started: a finished row, or one another attempt took over, keeps its steps."""
        if steps:
            ancestors = self._ancestor_ids()
            written = writes.add_steps(self._model(), field, steps, self.pk, ancestors, self.attempts)
            self._sync([self.pk, *ancestors], written.events)
