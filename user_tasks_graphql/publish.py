"""Send status events to the channel layer from synchronous code (Celery workers, views).

A publish never waits for the channel layer: it hands its events to one coroutine per process,
which sends them on the publisher's event loop (one loop per process, so one Redis connection pool,
not one per call). Inside an ASGI server the server's own loop is used instead, so the in-memory
layer works in the embedded mode too. Events are sent in order, and of the events that waited
while an earlier send was in flight (a producer faster than Redis, or Redis down) only the newest
of each status is sent, as subscribers only ever need that: no backlog builds up, and no status's
latest state, a finished one included, is dropped for others'. A failed send (Redis down) is
logged once per outage and never fails the caller: the waiting events are sent when the layer
answers again; the database stays the source of truth.
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
MAX_KEPT_EVENTS = 10_000  # statuses with an event waiting; beyond it the longest-waiting is dropped
COALESCE_ABOVE = 1_000  # events waiting before they are coalesced even while a send is in flight
SEND_CONCURRENCY = 16  # events sent at once (each to three groups): bounded, or a burst exhausts the pool


def newest_per_status(events: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """One event per status, the one with the highest seq, in the order of their last arrival."""
    newest: dict[str, dict[str, Any]] = {}
    for event in events:
        key = event["uuid"]
        known = newest.pop(key, None)
        newest[key] = event if known is None or event["seq"] >= known["seq"] else known
    return list(newest.values())[-MAX_KEPT_EVENTS:]


def send_chunks(events: list[dict[str, Any]]) -> Iterable[list[dict[str, Any]]]:
    """Consecutive runs of events to send at once: at most ``SEND_CONCURRENCY``, and never two of
    one status, whose events must reach Redis in the order they were published."""
    chunk: list[dict[str, Any]] = []
    statuses: set[str] = set()
    for event in events:
        if len(chunk) == SEND_CONCURRENCY or event["uuid"] in statuses:
            yield chunk
            chunk, statuses = [], set()
        chunk.append(event)
        statuses.add(event["uuid"])
    if chunk:
        yield chunk


class Publisher:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._loop_pid = 0
        self._server_loop: asyncio.AbstractEventLoop | None = None
        self._reset()

    def _reset(self) -> None:
        """Nothing waiting and fresh locks (also in a forked child: the parent sends its own events)."""
        self._state = threading.Lock()
        self._waiting: list[dict[str, Any]] = []
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
        """Hand each event over for its groups and return at once; never raises."""
        with self._state:
            self._waiting.extend(events)
            outage = self._failing_since is not None and time.monotonic() < self._retry_at
            if outage or len(self._waiting) > COALESCE_ABOVE:
                self._waiting = newest_per_status(self._waiting)
            if self._sending or outage or not self._waiting:
                return
            self._sending = True
            self._idle.clear()
        try:
            self._start(self._drain())
        except Exception as exc:  # no loop to send on
            with self._state:
                self._failed(exc)
                self._done()

    async def _drain(self) -> None:
        """Send what waits, round after round, until nothing does or the layer fails."""
        while True:
            with self._state:
                batch, self._waiting = newest_per_status(self._waiting), []
                if not batch:
                    self._done()
                    return
            try:
                await asyncio.wait_for(self._send(batch), conf.publish_timeout())
            except Exception as exc:
                with self._state:
                    self._waiting = newest_per_status([*batch, *self._waiting])
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
        for chunk in send_chunks(events):
            await asyncio.gather(*(layer.group_send(group, event) for event in chunk for group in groups_for(event)))

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
