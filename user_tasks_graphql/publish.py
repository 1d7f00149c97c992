"""Send status events to the channel layer from synchronous code (Celery workers, views).

A publish never waits for the channel layer: it queues the events and returns, and one coroutine
per process sends the queue in order on the publisher's event loop (one loop per process, so one
Redis connection pool, not one per call). Inside an ASGI server the server's own loop is used
instead, so the in-memory layer works in the embedded mode too. A failed send (Redis down) is
logged once per outage and never fails the caller: the newest event of each status is kept and
sent when the layer answers again; the database stays the source of truth.
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
        self._loop: asyncio.AbstractEventLoop | None = None
        self._loop_pid = 0
        self._server_loop: asyncio.AbstractEventLoop | None = None
        self._reset()

    def _reset(self) -> None:
        """Empty queues and fresh locks (also in a forked child: the parent sends its own events)."""
        self._state = threading.Lock()
        self._queue: list[dict[str, Any]] = []
        self._kept: dict[str, dict[str, Any]] = {}
        self._sending = False
        self._idle = threading.Event()
        self._idle.set()
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

    def _target_loop(self) -> asyncio.AbstractEventLoop:
        server = self._server_loop
        return server if server is not None and server.is_running() else self._own_loop()

    def _start(self, coroutine: Coroutine[Any, Any, None]) -> None:
        """Schedule without waiting (safe from any thread, the loop's own included)."""
        try:
            asyncio.run_coroutine_threadsafe(coroutine, self._target_loop())
        except BaseException:
            coroutine.close()
            raise

    # ---- publishing ----------------------------------------------------------------------------

    def publish(self, events: Iterable[dict[str, Any]]) -> None:
        """Queue each event for its groups and return at once; never raises."""
        with self._state:
            self._enqueue(list(events))
            if self._sending or not self._queue:
                return
            self._sending = True
            self._idle.clear()
        try:
            self._start(self._drain())
        except Exception as exc:  # no loop to send on
            with self._state:
                self._keep_back([])
                self._failed(exc)
                self._done()

    def _enqueue(self, events: list[dict[str, Any]]) -> None:
        """Add to the send queue, or during an outage only keep the newest per status until the retry."""
        if self._failing_since is None:
            self._queue.extend(events)
            del self._queue[:-MAX_KEPT_EVENTS]
            return
        self._keep_back(events)
        if time.monotonic() >= self._retry_at:
            self._queue, self._kept = list(self._kept.values()), {}

    def _keep_back(self, events: list[dict[str, Any]]) -> None:
        """Keep the queue and ``events`` (newest per status, newer ones win) for the next try."""
        for event in [*self._queue, *events]:
            self._kept.pop(event["uuid"], None)
            self._kept[event["uuid"]] = event
        self._queue = []
        for key in list(self._kept)[: max(0, len(self._kept) - MAX_KEPT_EVENTS)]:
            del self._kept[key]

    async def _drain(self) -> None:
        """Send the queue in order, batch after batch, until it is empty or the layer fails."""
        while True:
            with self._state:
                batch, self._queue = self._queue, []
                if not batch:
                    self._done()
                    return
            try:
                await asyncio.wait_for(self._send(batch), conf.publish_timeout())
            except Exception as exc:
                with self._state:
                    self._keep_back(batch)
                    self._failed(exc)
                    self._done()
                return
            with self._state:
                self._recovered()

    def _done(self) -> None:
        self._sending = False
        self._idle.set()

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

    def wait(self, timeout: float | None = None) -> bool:
        """Block until nothing is being sent; False on timeout, or when called on the sending loop."""
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is not None and running in (self._loop, self._server_loop):
            return self._idle.is_set()
        return self._idle.wait(conf.publish_timeout() * 2 if timeout is None else timeout)

    def flush(self, timeout: float | None = None) -> bool:
        """Send what is queued or kept back by an outage now, and wait for it (worker shutdown, tests)."""
        with self._state:
            self._retry_at = 0.0
        self.publish([])
        return self.wait(timeout)


publisher = Publisher()
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=publisher._reset)


def publish_events(events: Iterable[dict[str, Any]]) -> None:
    publisher.publish(events)
