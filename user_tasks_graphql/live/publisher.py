"""Send status events to the channel layer from synchronous code (Celery workers, views).

A publish never waits for the channel layer: it hands its events over and returns. On
channels-redis's pub/sub layer one sender thread per process sends them with blocking pipelines
(``sending.PubSubPipeline``); any other layer gets ``group_send`` from a coroutine: inside an ASGI
server on the server's own loop (so the in-memory layer works in the embedded mode too), elsewhere
on one loop the process keeps (so one Redis connection pool, not one per call).

Events are sent in order, and of the events that waited while an earlier send was in flight (a
producer faster than Redis, or Redis down) only the newest of each status is sent, as subscribers
only ever need that: no backlog builds up, and no status's latest state, a finished one included,
is dropped for others'. A failed send (Redis down) is logged once per outage and never fails the
caller: the waiting events are sent when the layer answers again; the database stays the source of
truth.
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading
import time
from collections.abc import Coroutine, Iterable
from typing import Any

from celery.signals import worker_process_shutdown
from channels.layers import get_channel_layer
from django.dispatch import receiver

from ..core import conf
from ..core.signals import statuses_changed
from .newest import Newest
from .sending import PubSubPipeline, send_events

logger = logging.getLogger(__name__)
MAX_KEPT_EVENTS = 10_000  # statuses with an event waiting; beyond it the longest-waiting is dropped
COALESCE_ABOVE = 1_000  # events waiting before they are coalesced even while a send is in flight


def newest_per_status(events: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """One event per status, the one with the highest seq (the later on a tie: a later read is as
    new), in the order of their last arrival."""
    newest: Newest[dict[str, Any]] = Newest(order="arrival")
    for event in events:
        newest.offer(event["uuid"], event["seq"], event)
    return newest.take()[-MAX_KEPT_EVENTS:]


class Publisher:
    def __init__(self) -> None:
        self._server_loop: asyncio.AbstractEventLoop | None = None
        self._reset()

    def _reset(self) -> None:
        """Nothing waiting, no thread or loop and fresh locks (also in a forked child: the parent's
        thread, loop and sockets are not the child's, and the parent sends its own events)."""
        self._setup = threading.Lock()
        self._state = threading.Lock()
        self._wake = threading.Condition(self._state)
        self._waiting: list[dict[str, Any]] = []
        self._sending = False
        self._handed_to_thread = False
        self._idle = threading.Event()
        self._idle.set()
        self._failing_since: float | None = None
        self._retry_at = 0.0
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._loop_thread: threading.Thread | None = None
        self._pipeline: PubSubPipeline | None = None
        self._pipeline_layer: Any = None

    def use_server_loop(self, loop: asyncio.AbstractEventLoop) -> None:
        """Called from the ASGI server: layers sent to by coroutine are sent to on its loop, where its
        consumers listen."""
        self._server_loop = loop

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
            self._start_sending()
        except Exception as exc:  # nothing to send from (the interpreter is shutting down)
            with self._state:
                self._failed(exc)
                self._done()

    def _start_sending(self) -> None:
        """The pub/sub layer's pipelines are sent from the sender thread; any other layer is sent to
        by a coroutine on an event loop."""
        layer = get_channel_layer()
        pipeline = self._pipeline_for(layer)
        if pipeline is None:
            self._on_loop(self._drain(layer))
            return
        with self._state:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="user-tasks-publisher", daemon=True)
                self._thread.start()
            self._handed_to_thread = True
            self._wake.notify()

    def _next_batch(self) -> list[dict[str, Any]] | None:
        """What waits, newest per status; None (and the sending over) when nothing does."""
        with self._state:
            batch, self._waiting = newest_per_status(self._waiting), []
            if not batch:
                self._done()
                return None
            return batch

    def _sent(self, batch: list[dict[str, Any]], error: BaseException | None) -> bool:
        """Record how a round went; False ends the sending (the batch is kept for the retry)."""
        with self._state:
            if error is None:
                self._recovered()
                return True
            self._waiting = newest_per_status([*batch, *self._waiting])
            self._failed(error)
            self._done()
            return False

    def _run(self) -> None:
        """The sender thread: each time sending is handed to it, send round after round until
        nothing waits or Redis fails."""
        while True:
            with self._state:
                while not self._handed_to_thread:
                    self._wake.wait()
                self._handed_to_thread = False
                pipeline = self._pipeline
            while (batch := self._next_batch()) is not None:
                error = None
                try:
                    if pipeline is not None:
                        pipeline.send(batch)
                except Exception as exc:
                    error = exc
                if not self._sent(batch, error):
                    break

    async def _drain(self, layer: Any) -> None:
        """The same rounds as a coroutine, for layers sent to with ``group_send``."""
        timeout = conf.publish_timeout()
        while (batch := self._next_batch()) is not None:
            error = None
            try:
                if layer is not None:
                    async with asyncio.timeout(timeout):
                        await send_events(layer, batch)
            except Exception as exc:
                error = exc
            if not self._sent(batch, error):
                return

    def _on_loop(self, coroutine: Coroutine[Any, Any, None]) -> None:
        """Schedule on the ASGI server's loop, or else on this process's own, without waiting."""
        server = self._server_loop
        loop = server if server is not None and server.is_running() else self._own_loop()
        try:
            asyncio.run_coroutine_threadsafe(coroutine, loop)
        except BaseException:
            coroutine.close()
            raise

    def _own_loop(self) -> asyncio.AbstractEventLoop:
        with self._setup:
            if self._loop is None or self._loop.is_closed():
                loop = asyncio.new_event_loop()
                self._loop_thread = threading.Thread(target=loop.run_forever, name="user-tasks-loop", daemon=True)
                self._loop_thread.start()
                self._loop = loop
            return self._loop

    def _pipeline_for(self, layer: Any) -> PubSubPipeline | None:
        """The pipelined sender of this layer (kept while the layer is the same object; its sockets
        time out after ``USER_TASKS_PUBLISH_TIMEOUT``); None for other layers."""
        with self._setup:
            if self._pipeline_layer is not layer:
                if self._pipeline is not None:
                    self._pipeline.close()
                self._pipeline = PubSubPipeline.for_layer(layer, conf.publish_timeout()) if layer else None
                self._pipeline_layer = layer
            return self._pipeline

    def _done(self) -> None:
        self._sending = False
        self._idle.set()

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
        """Block until nothing is being sent; False on timeout, or when called on a loop or thread
        that sends (waiting there would hold up the send)."""
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        sending_here = running is not None and running in (self._server_loop, self._loop)
        if sending_here or threading.current_thread() is self._thread:
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


@receiver(statuses_changed, dispatch_uid="user_tasks_graphql.publish_changes")
def publish_changes(sender: Any = None, events: Iterable[dict[str, Any]] = (), **kwargs: Any) -> None:
    """Every change the core announces goes to the channel layer."""
    publisher.publish(events)


@worker_process_shutdown.connect(dispatch_uid="user_tasks_graphql.flush_kept_events")
def flush_kept_events(**kwargs: Any) -> None:
    """A worker process that stops sends what an outage kept back first."""
    publisher.flush()
