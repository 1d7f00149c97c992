"""The worker's background writer: a per-process thread that writes the steps (and deferred starts)
a quiet task left in memory."""

from __future__ import annotations

import logging
import os
import threading
import time
import weakref
from typing import Any

from django.db import close_old_connections

from ..core import conf
from ..core.exceptions import TaskCanceledException

logger = logging.getLogger(__name__)


class TrailingFlusher:
    """Writes increments a quiet task left in memory; runs only in worker processes."""

    def __init__(self) -> None:
        self._statuses: weakref.WeakSet[Any] = weakref.WeakSet()
        self._lock = threading.Lock()
        self._pid = 0

    def watch(self, status: Any) -> None:
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
