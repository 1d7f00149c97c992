"""Send status events to the channel layer from synchronous code (Celery workers, views).

One event loop per process serves every publish: ``async_to_sync(group_send)`` per call would
build a new loop and a new Redis connection each time. Inside an ASGI server the server's own
loop is used instead, so the in-memory layer works in the embedded mode too. A failed publish
(Redis down) is logged once per outage and never fails the caller: the newest event of each
status is kept and sent when the layer answers again; the database stays the source of truth.
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading
import time
from collections.abc import Coroutine, Iterable
from typing import Any

from channels.layers import get_channel_layer

from . import conf
from .events import groups_for

logger = logging.getLogger(__name__)
MAX_KEPT_EVENTS = 10_000


class Publisher:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._state = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._loop_pid = 0
        self._server_loop: asyncio.AbstractEventLoop | None = None
        self._kept: dict[str, dict[str, Any]] = {}
        self._failing_since: float | None = None
        self._retry_at = 0.0

    # ---- loops ---------------------------------------------------------------------------------

    def use_server_loop(self, loop: asyncio.AbstractEventLoop) -> None:
        """Called from the ASGI server: publish on its loop, where its consumers listen."""
        self._server_loop = loop

    def _own_loop(self) -> asyncio.AbstractEventLoop:
        with self._lock:
            if self._loop is None or self._loop_pid != os.getpid() or self._loop.is_closed():
                loop = asyncio.new_event_loop()
                threading.Thread(target=loop.run_forever, name="user-tasks-publisher", daemon=True).start()
                self._loop, self._loop_pid = loop, os.getpid()
            return self._loop

    def _run(self, coroutine: Coroutine[Any, Any, None]) -> None:
        server = self._server_loop
        if server is not None and server.is_running():
            try:
                running = asyncio.get_running_loop()
            except RuntimeError:
                running = None
            if running is server:  # cannot block the loop we are on: send in the background
                server.create_task(coroutine)
                return
            loop = server
        else:
            loop = self._own_loop()
        asyncio.run_coroutine_threadsafe(coroutine, loop).result(timeout=conf.publish_timeout())

    # ---- publishing ----------------------------------------------------------------------------

    def publish(self, events: Iterable[dict[str, Any]]) -> None:
        """Send each event to its groups; never raises."""
        with self._state:
            for event in events:
                self._kept[event["uuid"]] = event
            for key in list(self._kept)[: max(0, len(self._kept) - MAX_KEPT_EVENTS)]:
                del self._kept[key]
            if not self._kept or (self._failing_since is not None and time.monotonic() < self._retry_at):
                return
            pending, self._kept = self._kept, {}
        try:
            self._run(self._send(list(pending.values())))
        except Exception as exc:
            with self._state:
                for key, event in pending.items():
                    self._kept.setdefault(key, event)
                self._failed(exc)
        else:
            with self._state:
                self._recovered()

    async def _send(self, events: list[dict[str, Any]]) -> None:
        layer = get_channel_layer()
        if layer is None:
            return
        await asyncio.gather(*(layer.group_send(group, event) for event in events for group in groups_for(event)))

    def _failed(self, exc: BaseException) -> None:
        now = time.monotonic()
        if self._failing_since is None:
            self._failing_since = now
            logger.warning(
                "Live task updates are not being published (%r); retrying every %.1fs", exc, conf.publish_retry_after()
            )
        self._retry_at = now + conf.publish_retry_after()

    def _recovered(self) -> None:
        if self._failing_since is not None:
            logger.warning("Live task updates are published again after %.1fs", time.monotonic() - self._failing_since)
            self._failing_since = None

    def flush(self) -> None:
        """Send what an outage kept back (called on worker shutdown and by tests)."""
        self._retry_at = 0.0
        if self._kept:
            self.publish([])


publisher = Publisher()


def publish_events(events: Iterable[dict[str, Any]]) -> None:
    publisher.publish(events)
