"""Noticing that the channel layer stopped bringing the hub its events, and recovering from it.

A failed receive or join, or a probe the hub sends itself through the layer that does not come back
(``USER_TASKS_LIVE_CHECK_INTERVAL``: a reconnecting pub/sub connection loses messages without any
error reaching its reader), is logged once per outage. Recovery joins the hub's groups again when
the layer answers (a restarted Redis forgot them) and sends its listeners the database's current
state of what changed meanwhile, since events published during the outage are gone.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import time
from typing import Any, Protocol

from asgiref.sync import sync_to_async

from ..core import conf
from .catch_up import changed_since

logger = logging.getLogger("user_tasks_graphql.live.hub")  # the hub's outages, logged under its name

RETRY_DELAYS = (0.2, 0.5, 1.0, 2.0)  # between attempts to re-join after an outage
READ_RETRY_DELAYS = (0.1, 0.2, 0.5, 1.0)  # a reader that sleeps long would miss the recovery probe
CATCH_UP_MARGIN = 30.0  # seconds before the last good probe: a write may be published late
PROBE_TYPE = "user_tasks.probe"


class Hub(Protocol):
    """What recovering from an outage needs of the hub."""

    joined: set[str]  # groups the hub's channel is a member of

    async def channel(self) -> str: ...

    def groups(self) -> list[str]:
        """The groups with a listener."""
        ...

    def redeliver(self, events: list[dict[str, Any]]) -> None:
        """Hand out the current state read from the database, whatever was handed out before."""
        ...


class Outages:
    """The hub's watchdog (probes, membership renewal) and its recovery from an outage."""

    def __init__(self, hub: Hub, layer: Any) -> None:
        self._hub = hub
        self._layer = layer
        self._watchdog: asyncio.Task[None] | None = None
        self._recovery: asyncio.Task[None] | None = None
        self._probe_nonce = 0
        self._probe_answered = asyncio.Event()
        self._last_ok = 0.0  # when a probe last came back: nothing before it was lost
        self._down_since: float | None = None
        self._noticed_at = 0.0

    def start(self) -> None:
        self._last_ok = time.time()
        self._watchdog = asyncio.create_task(self._watch(), name="user-tasks-hub-watchdog")

    def stop(self) -> None:
        """Cancel the watchdog and a recovery without waiting for them: the hub stops when its last
        subscription leaves, which must not wait."""
        for task in (self._watchdog, self._recovery):
            if task is not None:
                task.cancel()
        self._watchdog = self._recovery = None
        self._down_since = None

    def probe_back(self, message: dict[str, Any]) -> None:
        """The reader got a probe back."""
        if message.get("nonce") == self._probe_nonce:
            self._probe_answered.set()

    async def read_failed(self, exc: BaseException, failures: int) -> None:
        """The reader's receive failed (``failures`` times before in a row): wait before the next."""
        self.went_down(exc)
        await asyncio.sleep(READ_RETRY_DELAYS[min(failures, len(READ_RETRY_DELAYS) - 1)])

    def went_down(self, exc: BaseException) -> None:
        if self._down_since is None:
            self._down_since = self._last_ok  # events after the last good probe may be lost
            self._noticed_at = time.time()
            logger.warning("Live task updates are not being received (%r); retrying", exc)
        if self._recovery is None and self._watchdog is not None:
            self._recovery = asyncio.create_task(self._recover(), name="user-tasks-hub-recovery")

    async def _probe(self) -> bool:
        """Send ourselves a message through the layer; True if it came back in time."""
        self._probe_nonce += 1
        self._probe_answered.clear()
        try:
            channel = await self._hub.channel()
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
                self.went_down(TimeoutError("a probe through the channel layer did not come back"))
                continue
            self._last_ok = sent
            if time.monotonic() - refreshed >= conf.group_refresh_interval():
                refreshed = time.monotonic()
                for group in list(self._hub.joined):
                    try:
                        await asyncio.wait_for(self._layer.group_add(group, await self._hub.channel()),
                                               conf.publish_timeout())  # fmt: skip
                    except Exception as exc:
                        self.went_down(exc)
                        break

    async def _recover(self) -> None:
        """Join every wanted group again until a probe comes back, then catch up from the database."""
        for attempt in itertools.count():
            await asyncio.sleep(RETRY_DELAYS[min(attempt, len(RETRY_DELAYS) - 1)])
            try:
                channel = await self._hub.channel()
                for group in self._hub.groups():
                    await asyncio.wait_for(self._layer.group_add(group, channel), conf.publish_timeout())
            except Exception:
                continue
            started = time.time()
            if await self._probe():
                break
        self._hub.joined.update(self._hub.groups())
        since = self._down_since if self._down_since is not None else started
        self._down_since, self._recovery, self._last_ok = None, None, started
        logger.warning("Live task updates are received again after %.1fs", time.time() - self._noticed_at)
        await self._catch_up(since)

    async def _catch_up(self, since: float) -> None:
        """Events published while the layer was away are lost: send the database's current state of
        every status the hub's listeners follow that changed meanwhile (and a deletion for one that is gone)."""
        try:
            events = await sync_to_async(changed_since)(since - CATCH_UP_MARGIN, self._hub.groups())
        except Exception:  # the database is away too: subscriptions get the next live events
            logger.exception("Could not read the statuses that changed during the outage")
            return
        self._hub.redeliver(events)
