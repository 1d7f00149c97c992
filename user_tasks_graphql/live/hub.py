"""One channel-layer channel per server process, shared by every live subscription in it.

A channel per websocket would make each socket a group member in Redis, each event a message per
socket in the layer (queued, decoded and dispatched one by one), and a layer outage would close
every socket whose read failed. The hub joins each group once, receives each event once, and
hands it to the local subscriptions of the event's groups, in memory.

It also hides layer outages from clients. A failed receive, or a probe it sends itself through
the layer that does not come back (``USER_TASKS_LIVE_CHECK_INTERVAL``), is logged once; the hub
retries, re-joins its groups when the layer answers (a restarted Redis forgot them) and sends
its subscriptions the database's current state of what changed meanwhile, since events
published during the outage are gone.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import time
from collections import OrderedDict
from collections.abc import AsyncIterator
from typing import Any, Protocol

from asgiref.sync import sync_to_async
from channels.layers import get_channel_layer

from ..core import conf
from .catch_up import changed_since
from .groups import groups_for

logger = logging.getLogger(__name__)

MAX_REMEMBERED_STATUSES = 10_000
RETRY_DELAYS = (0.2, 0.5, 1.0, 2.0)  # between attempts to re-join after an outage
READ_RETRY_DELAYS = (0.1, 0.2, 0.5, 1.0)  # a reader that sleeps long would miss the recovery probe
CATCH_UP_MARGIN = 30.0  # seconds before the last good probe: a write may be published late
READ_BATCH = 256  # messages read back to back before the reader lets the loop (and delivery) run
PROBE_TYPE = "user_tasks.probe"


class Listener(Protocol):
    """Where the hub hands a subscription its events (called on the loop, must not block)."""

    def offer(self, event: dict[str, Any]) -> None: ...


class EventHub:
    def __init__(self, layer: Any) -> None:
        self._layer = layer
        self._channel: str | None = None
        self._channel_lock = asyncio.Lock()
        self._listeners: dict[str, set[Listener]] = {}
        self._joined: set[str] = set()
        self._group_locks: dict[str, asyncio.Lock] = {}
        self._delivered: OrderedDict[str, int] = OrderedDict()  # uuid -> newest seq handed out
        self._pending: dict[str, dict[str, Any]] = {}  # uuid -> newest event read, not yet handed out
        self._delivery_scheduled = False
        self._reader: asyncio.Task[None] | None = None
        self._watchdog: asyncio.Task[None] | None = None
        self._recovery: asyncio.Task[None] | None = None
        self._probe_nonce = 0
        self._probe_answered = asyncio.Event()
        self._last_ok = 0.0  # when a probe last came back: nothing before it was lost
        self._down_since: float | None = None
        self._noticed_at = 0.0

    @property
    def listening(self) -> int:
        return len({listener for listeners in self._listeners.values() for listener in listeners})

    @contextlib.asynccontextmanager
    async def listen(self, groups: list[str], listener: Listener) -> AsyncIterator[None]:
        """Events of ``groups`` go to ``listener`` from the moment this returns until the block ends."""
        await self._start()
        for group in groups:
            self._listeners.setdefault(group, set()).add(listener)
        try:
            await asyncio.gather(*(self._join(group) for group in groups))
            yield
        finally:
            for group in groups:
                members = self._listeners.get(group, set())
                members.discard(listener)
                if not members:
                    self._listeners.pop(group, None)
                    await self._leave(group)
            if not self._listeners:
                self._stop()

    # ---- membership ----------------------------------------------------------------------------

    async def _join(self, group: str) -> None:
        async with self._group_lock(group):
            if group in self._joined or group not in self._listeners:
                return
            try:
                await asyncio.wait_for(self._layer.group_add(group, await self._own_channel()), conf.publish_timeout())
            except Exception as exc:  # joined when the layer answers again, then caught up
                self._went_down(exc)
                return
            self._joined.add(group)

    async def _leave(self, group: str) -> None:
        async with self._group_lock(group):
            if group in self._listeners or group not in self._joined:
                return
            self._joined.discard(group)
            if self._channel is not None:
                with contextlib.suppress(Exception):  # an unused membership expires on its own
                    await asyncio.wait_for(self._layer.group_discard(group, self._channel), conf.publish_timeout())

    def _group_lock(self, group: str) -> asyncio.Lock:
        lock = self._group_locks.get(group)
        if lock is None:
            lock = self._group_locks[group] = asyncio.Lock()
        if len(self._group_locks) > 4 * len(self._listeners) + 64:  # forget locks of groups gone
            for name in [name for name, held in self._group_locks.items() if not held.locked()]:
                if name not in self._listeners and name != group:
                    del self._group_locks[name]
        return lock

    async def _own_channel(self) -> str:
        if self._channel is None:
            async with self._channel_lock:  # the reader and the first join ask at the same time
                if self._channel is None:
                    self._channel = await self._layer.new_channel()
        return self._channel

    # ---- receiving -----------------------------------------------------------------------------

    async def _start(self) -> None:
        if self._reader is None:
            self._last_ok = time.time()
            self._reader = asyncio.create_task(self._read(), name="user-tasks-hub")
            self._watchdog = asyncio.create_task(self._watch(), name="user-tasks-hub-watchdog")

    def _stop(self) -> None:
        """Cancel the background tasks without waiting for them: the last subscription to leave
        must not wait on a blocked read (nor swallow its own cancellation doing so)."""
        for task in (self._reader, self._watchdog, self._recovery):
            if task is not None:
                task.cancel()
        self._reader = self._watchdog = self._recovery = None
        self._channel = None
        self._joined.clear()
        self._delivered.clear()
        self._pending.clear()
        self._down_since = None

    async def _read(self) -> None:
        failures = read = 0
        while True:
            read += 1
            if read % READ_BATCH == 0:  # a backlog is read without suspending: let the loop breathe
                await asyncio.sleep(0)
            try:
                message = await self._layer.receive(await self._own_channel())
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                self._went_down(exc)
                await asyncio.sleep(READ_RETRY_DELAYS[min(failures, len(READ_RETRY_DELAYS) - 1)])
                failures += 1
                continue
            failures = 0
            if message.get("type") == PROBE_TYPE:
                if message.get("nonce") == self._probe_nonce:
                    self._probe_answered.set()
            else:
                self._keep_for_delivery(message)

    def _keep_for_delivery(self, event: dict[str, Any]) -> None:
        """Hand out what was read once the reader waits: a backlog read in one go (the server was
        busy, or a task published faster than it delivers) goes out as the newest state per status,
        so listeners cost one offer per status, not one per event."""
        key, seq = event.get("uuid"), event.get("seq")
        if not isinstance(key, str) or not isinstance(seq, int):
            return
        known = self._pending.get(key)
        if known is None or seq > known["seq"]:
            self._pending[key] = event
        if not self._delivery_scheduled:
            self._delivery_scheduled = True
            asyncio.get_running_loop().call_soon(self._deliver_pending)

    def _deliver_pending(self) -> None:
        self._delivery_scheduled = False
        pending, self._pending = self._pending, {}
        for event in pending.values():
            self.deliver(event)

    def deliver(self, event: dict[str, Any]) -> None:
        """Hand ``event`` to each local listener of its groups, once however many groups brought it."""
        key, seq = event.get("uuid"), event.get("seq")
        if not isinstance(key, str) or not isinstance(seq, int):
            return
        if seq <= self._delivered.get(key, -1):
            return
        self._delivered[key] = seq
        self._delivered.move_to_end(key)
        if len(self._delivered) > MAX_REMEMBERED_STATUSES:
            self._delivered.popitem(last=False)
        targets: set[Listener] = set()
        for group in groups_for(event):
            targets.update(self._listeners.get(group, ()))
        for listener in targets:
            listener.offer(event)

    # ---- outages -------------------------------------------------------------------------------

    async def _probe(self) -> bool:
        """Send ourselves a message through the layer; True if it came back in time."""
        self._probe_nonce += 1
        self._probe_answered.clear()
        try:
            channel = await self._own_channel()
            message = {"type": PROBE_TYPE, "nonce": self._probe_nonce}
            await asyncio.wait_for(self._layer.send(channel, message), conf.publish_timeout())
            await asyncio.wait_for(self._probe_answered.wait(), conf.publish_timeout() + READ_RETRY_DELAYS[-1])
        except Exception:
            return False
        return True

    async def _watch(self) -> None:
        """Probe the layer now and then (a reconnecting pub/sub connection loses messages without
        any error reaching us), and renew group memberships before channels-redis expires them."""
        refreshed = time.monotonic()
        while True:
            await asyncio.sleep(conf.live_check_interval())
            if self._down_since is not None:
                continue
            sent = time.time()
            if not await self._probe():
                self._went_down(TimeoutError("a probe through the channel layer did not come back"))
                continue
            self._last_ok = sent
            if time.monotonic() - refreshed >= conf.group_refresh_interval():
                refreshed = time.monotonic()
                for group in list(self._joined):
                    try:
                        await asyncio.wait_for(self._layer.group_add(group, await self._own_channel()),
                                               conf.publish_timeout())  # fmt: skip
                    except Exception as exc:
                        self._went_down(exc)
                        break

    def _went_down(self, exc: BaseException) -> None:
        if self._down_since is None:
            self._down_since = self._last_ok  # events after the last good probe may be lost
            self._noticed_at = time.time()
            logger.warning("Live task updates are not being received (%r); retrying", exc)
        if self._recovery is None and self._reader is not None:
            self._recovery = asyncio.create_task(self._recover(), name="user-tasks-hub-recovery")

    async def _recover(self) -> None:
        """Join every wanted group again until a probe comes back, then catch up from the database."""
        for attempt in itertools.count():
            await asyncio.sleep(RETRY_DELAYS[min(attempt, len(RETRY_DELAYS) - 1)])
            try:
                channel = await self._own_channel()
                for group in list(self._listeners):
                    await asyncio.wait_for(self._layer.group_add(group, channel), conf.publish_timeout())
            except Exception:
                continue
            started = time.time()
            if await self._probe():
                break
        self._joined.update(self._listeners)
        since = self._down_since if self._down_since is not None else started
        self._down_since, self._recovery, self._last_ok = None, None, started
        logger.warning("Live task updates are received again after %.1fs", time.time() - self._noticed_at)
        await self._catch_up(since)

    async def _catch_up(self, since: float) -> None:
        """Events published while the layer was away are lost: send the database's current state of
        every status our listeners follow that changed meanwhile (and a deletion for one that is gone)."""
        try:
            events = await sync_to_async(changed_since)(since - CATCH_UP_MARGIN, list(self._listeners))
        except Exception:  # the database is away too: subscriptions get the next live events
            logger.exception("Could not read the statuses that changed during the outage")
            return
        self._delivered.clear()
        for event in events:
            self.deliver(event)


_hubs: dict[asyncio.AbstractEventLoop, EventHub] = {}


def hub() -> EventHub:
    """The hub of the running event loop (one per server process; tests may run several loops)."""
    loop = asyncio.get_running_loop()
    found = _hubs.get(loop)
    if found is None:
        for stale in [other for other in _hubs if other.is_closed()]:
            del _hubs[stale]
        found = _hubs[loop] = EventHub(get_channel_layer())
    return found


def listen(groups: list[str], listener: Listener) -> contextlib.AbstractAsyncContextManager[None]:
    """Events of ``groups`` go to ``listener.offer`` while the block runs (see ``EventHub.listen``)."""
    return hub().listen(groups, listener)
