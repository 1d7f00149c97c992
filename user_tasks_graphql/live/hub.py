"""One channel-layer channel per server process, shared by every live subscription in it.

A channel per websocket would make each socket a group member in Redis, each event a message per
socket in the layer (queued, decoded and dispatched one by one), and a layer outage would close
every socket whose read failed. The hub joins each group once, receives each event once, and
hands it to the local subscriptions of the event's groups, in memory.

Layer outages are hidden from clients (``outages.py``): logged once, and when the layer answers
again the hub's subscriptions get the database's current state of what changed meanwhile.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from collections.abc import AsyncIterator
from typing import Any, Protocol

from channels.layers import get_channel_layer

from ..core import conf
from .groups import groups_for
from .newest import Newest
from .outages import PROBE_TYPE, Outages

MAX_REMEMBERED_STATUSES = 10_000
READ_BATCH = 256  # messages read back to back before the reader lets the loop (and delivery) run


class Listener(Protocol):
    """Where the hub hands a subscription its events (called on the loop, must not block)."""

    def offer(self, event: dict[str, Any]) -> None: ...


class EventHub:
    def __init__(self, layer: Any) -> None:
        self._layer = layer
        self._channel: str | None = None
        self._channel_lock = asyncio.Lock()
        self._listeners: dict[str, dict[Listener, int]] = {}  # each group's, with the number of their arrival
        self._arrivals = itertools.count()
        self.joined: set[str] = set()
        self._group_locks: dict[str, asyncio.Lock] = {}
        self._delivered: Newest[None] = Newest(MAX_REMEMBERED_STATUSES, order="updated")  # seqs handed out
        self._pending: Newest[dict[str, Any]] = Newest()  # events read, not yet handed out
        self._delivery_scheduled = False
        self._reader: asyncio.Task[None] | None = None
        self._outages = Outages(self, layer)

    @contextlib.asynccontextmanager
    async def listen(self, groups: list[str], listener: Listener) -> AsyncIterator[None]:
        """Events of ``groups`` go to ``listener`` from the moment this returns until the block ends."""
        await self._start()
        arrival = next(self._arrivals)
        for group in groups:
            self._listeners.setdefault(group, {})[listener] = arrival
        try:
            await asyncio.gather(*(self._join(group) for group in groups))
            yield
        finally:
            for group in groups:
                members = self._listeners.get(group, {})
                members.pop(listener, None)
                if not members:
                    self._listeners.pop(group, None)
                    await self._leave(group)
            if not self._listeners:
                self._stop()

    def groups(self) -> list[str]:
        """The groups with a listener."""
        return list(self._listeners)

    # ---- membership ----------------------------------------------------------------------------

    async def _join(self, group: str) -> None:
        async with self._group_lock(group):
            if group in self.joined or group not in self._listeners:
                return
            try:
                await asyncio.wait_for(self._layer.group_add(group, await self.channel()), conf.publish_timeout())
            except Exception as exc:  # joined when the layer answers again, then caught up
                self._outages.went_down(exc)
                return
            self.joined.add(group)

    async def _leave(self, group: str) -> None:
        async with self._group_lock(group):
            if group in self._listeners or group not in self.joined:
                return
            self.joined.discard(group)
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

    async def channel(self) -> str:
        """The hub's channel in the layer, created on first use."""
        if self._channel is None:
            async with self._channel_lock:  # the reader and the first join ask at the same time
                if self._channel is None:
                    self._channel = await self._layer.new_channel()
        return self._channel

    # ---- receiving -----------------------------------------------------------------------------

    async def _start(self) -> None:
        if self._reader is None:
            self._reader = asyncio.create_task(self._read(), name="user-tasks-hub")
            self._outages.start()

    def _stop(self) -> None:
        """Cancel the background tasks without waiting for them: the last subscription to leave
        must not wait on a blocked read (nor swallow its own cancellation doing so)."""
        if self._reader is not None:
            self._reader.cancel()
        self._reader = None
        self._outages.stop()
        self._channel = None
        self.joined.clear()
        self._delivered.clear()
        self._pending.clear()

    async def _read(self) -> None:
        failures = read = 0
        while True:
            read += 1
            if read % READ_BATCH == 0:  # a backlog is read without suspending: let the loop breathe
                await asyncio.sleep(0)
            try:
                message = await self._layer.receive(await self.channel())
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                await self._outages.read_failed(exc, failures)
                failures += 1
                continue
            failures = 0
            if message.get("type") == PROBE_TYPE:
                self._outages.probe_back(message)
            else:
                self._keep_for_delivery(message)

    def _keep_for_delivery(self, event: dict[str, Any]) -> None:
        """Hand out what was read once the reader waits: a backlog read in one go (the server was
        busy, or a task published faster than it delivers) goes out as the newest state per status,
        so listeners cost one offer per status, not one per event."""
        key, seq = event.get("uuid"), event.get("seq")
        if not isinstance(key, str) or not isinstance(seq, int):
            return
        self._pending.offer(key, seq, event)
        if not self._delivery_scheduled:
            self._delivery_scheduled = True
            asyncio.get_running_loop().call_soon(self._deliver_pending)

    def _deliver_pending(self) -> None:
        self._delivery_scheduled = False
        for event in self._pending.take():
            self.deliver(event)

    def deliver(self, event: dict[str, Any]) -> None:
        """Hand ``event`` to each local listener of its groups, once however many groups brought it."""
        key, seq = event.get("uuid"), event.get("seq")
        if not isinstance(key, str) or not isinstance(seq, int):
            return
        if not self._delivered.offer(key, seq, None):
            return
        reached = [members for group in groups_for(event) if (members := self._listeners.get(group))]
        if len(reached) == 1:
            targets = list(reached[0])
        else:  # one offer each, first come first served
            merged = {listener: arrival for members in reached for listener, arrival in members.items()}
            targets = sorted(merged, key=merged.__getitem__)
        for listener in targets:
            listener.offer(event)

    def redeliver(self, events: list[dict[str, Any]]) -> None:
        """Hand out the current state read from the database after an outage, whatever was handed
        out before."""
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
