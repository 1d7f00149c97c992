"""Coalescing of progress: increments within ``USER_TASKS_PROGRESS_INTERVAL`` are summed in memory
and written (and published) once, so a tight loop of ``increment_completed_steps()`` costs one
UPDATE per interval instead of one per call. Increments left over when a task goes quiet, and
starts deferred by ``USER_TASKS_START_DELAY``, are written by the next change, or by a background
writer where one is installed (the worker side installs its flusher thread)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from . import conf

_background_writer: Callable[[Any], None] | None = None


def install_background_writer(watch: Callable[[Any], None] | None) -> None:
    """``watch(status)`` is called when a status has steps or a start waiting in memory; the
    writer calls ``status.flush_progress()`` once ``status.progress_buffer().overdue()``."""
    global _background_writer
    _background_writer = watch


def has_background_writer() -> bool:
    return _background_writer is not None


def watch(status: Any) -> None:
    """Hand ``status`` to the background writer, if there is one."""
    writer = _background_writer
    if writer is not None:
        writer(status)


class ProgressBuffer:
    """Steps counted but not yet written, for one status object, and that object's lock.

    The task thread and the worker's flusher thread both change a status; each holds ``lock``
    from reading the counts to applying the written row, so they take turns (re-entrant: a
    change flushes the steps first under the same lock).
    """

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.pending = 0
        # steps counted inside the task's own transaction: that transaction may hold the row's
        # lock, so only the task thread writes them (a flusher waiting on the row would hold
        # ``lock`` until the commit, and the task thread would wait for ``lock``)
        self.in_transaction = False
        # the first interval starts with the first increment: a task shorter than the interval
        # writes its steps once, together with its result
        self.last_flush = time.monotonic()
        self.interval = conf.progress_interval()
        self.start_due: float | None = None  # a start written later (``StatusLifecycle.start(defer=...)``)

    def defer_start(self, seconds: float) -> None:
        with self.lock:
            self.start_due = time.monotonic() + seconds

    def take_start(self) -> bool:
        """True once if a deferred start is still to be written (the caller writes it or drops it)."""
        with self.lock:
            due, self.start_due = self.start_due, None
            return due is not None

    def add(self, steps: int) -> tuple[bool, bool]:
        """Count ``steps``: (write now, first steps waiting since the last write). The caller holds
        ``lock`` (the status's increment, which changes its own count in the same turn)."""
        first = self.pending == 0
        self.pending += steps
        return time.monotonic() - self.last_flush >= self.interval, first

    def take(self) -> int:
        with self.lock:
            steps, self.pending = self.pending, 0
            self.last_flush = time.monotonic()
            self.interval = conf.progress_interval()
            return steps

    def overdue(self) -> bool:
        with self.lock:
            now = time.monotonic()
            start_due = self.start_due is not None and now >= self.start_due
            steps_due = self.pending > 0 and not self.in_transaction and now - self.last_flush >= self.interval
            return start_due or steps_due
