"""Coalescing of progress: increments within ``USER_TASKS_PROGRESS_INTERVAL`` are summed in memory
and written (and published) once, so a tight loop of ``increment_completed_steps()`` costs one
UPDATE per interval instead of one per call. Increments left over when a task goes quiet, and
starts deferred by ``USER_TASKS_START_DELAY``, are written by a per-process thread in workers."""

from __future__ import annotations

import logging
import os
import threading
import time
import weakref
from typing import TYPE_CHECKING

from django.db import close_old_connections

from . import conf
from .exceptions import TaskCanceledException

if TYPE_CHECKING:
    from .lifecycle import StatusLifecycle

logger = logging.getLogger(__name__)


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
        self.start_due: float | None = None  # a start written later (``StatusLifecycle.defer_start``)

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


class TrailingFlusher:
    """Writes increments a quiet task left in memory; runs only in worker processes."""

    def __init__(self) -> None:
        self._statuses: weakref.WeakSet[StatusLifecycle] = weakref.WeakSet()
        self._lock = threading.Lock()
        self._pid = 0
        self.enabled = False

    def watch(self, status: StatusLifecycle) -> None:
        if not self.enabled:
            return
        with self._lock:
            self._statuses.add(status)
            if self._pid != os.getpid():
                self._pid = os.getpid()
                threading.Thread(target=self._run, name="user-tasks-progress", daemon=True).start()

    def _run(self) -> None:
        while True:
            time.sleep(max(conf.progress_interval() / 4, 0.01))
            with self._lock:
                statuses = list(self._statuses)
            for status in statuses:
                if status.progress_buffer().overdue():
                    try:
                        status.flush_progress()
                    except TaskCanceledException:  # the task raises it itself at its next call
                        pass
                    except Exception:
                        logger.warning("Could not write a task's progress", exc_info=True)
                        close_old_connections()  # a broken connection is replaced on the next write


flusher = TrailingFlusher()
