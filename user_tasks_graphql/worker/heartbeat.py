"""Worker-side heartbeat: keeps the statuses of running tasks fresh so the reaper spares them.

One daemon thread per worker process touches ``modified`` of the statuses its tasks are running.
When the process dies the touches stop, and ``reap_stale_user_tasks`` fails those tasks.
"""

from __future__ import annotations

import logging
import os
import threading

from django.db import close_old_connections, connection

from ..core import conf, writes
from ..core.models import UserTaskStatus

logger = logging.getLogger(__name__)


class Heartbeat:
    def __init__(self) -> None:
        self._running: dict[int, int] = {}
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._pid = 0
        self._stopped = threading.Event()

    def track(self, status_pk: int) -> None:
        with self._lock:
            self._running[status_pk] = self._running.get(status_pk, 0) + 1
            if self._thread is None or self._pid != os.getpid() or not self._thread.is_alive():
                self._pid = os.getpid()
                self._stopped = threading.Event()
                self._thread = threading.Thread(target=self._beat, name="user-tasks-heartbeat", daemon=True)
                self._thread.start()

    def untrack(self, status_pk: int) -> None:
        with self._lock:
            left = self._running.get(status_pk, 0) - 1
            if left > 0:
                self._running[status_pk] = left
            else:
                self._running.pop(status_pk, None)

    def stop(self) -> None:
        """End the thread (a worker process shutting down); the next ``track`` starts a new one."""
        with self._lock:
            self._stopped.set()
            self._thread = None

    def running(self) -> list[int]:
        with self._lock:
            return list(self._running)

    def _beat(self) -> None:
        interval = conf.heartbeat_interval().total_seconds()
        stopped = self._stopped
        while not stopped.wait(interval):
            pks = self.running()
            if not pks:
                continue
            try:
                close_old_connections()
                writes.keep_alive(UserTaskStatus, pks)
            except Exception:
                logger.warning("User task heartbeat failed", exc_info=True)
                connection.close()


heartbeat = Heartbeat()
