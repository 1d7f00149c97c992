"""What a live subscription needs between the channel layer and the client.

- ``LatestEvents`` takes events from the process's hub (``user_tasks_graphql.live.hub``) as they arrive
  and keeps only the newest event per status, so a client that reads slowly never builds a
  backlog on the server.
- ``EventLoader`` turns an event into the object the GraphQL types read: from the event alone
  for scalar fields, or one database read shared by every subscriber of the same event when the
  query selects relations. Every subscriber gets the same object, so the result of executing one
  request on it is shared too (``shared_results.py``).
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable
from typing import Any

from asgiref.sync import sync_to_async
from strawberry.types import Info

from ..core.events import instance_from_event
from ..core.models import UserTaskStatus
from ..live.newest import Newest
from .loading import first_selected, selects_any
from .shared_results import SharedResults


class LatestEvents:
    """A subscription's inbox: the hub offers events, the subscription reads the newest per status,
    statuses in the order they started waiting; and an alarm, for a subscription with something to
    do at a time (one timer, not one per wait)."""

    def __init__(self, accept: Callable[[dict[str, Any]], bool]) -> None:
        self._accept = accept
        self._pending: Newest[dict[str, Any]] = Newest()
        self._seen: Newest[None] = Newest()
        self._ready = asyncio.Event()  # set while an event is pending or the alarm went off
        self._alarm: asyncio.TimerHandle | None = None
        self._rang = False

    def seen(self, key: str, seq: int) -> bool:
        """Events of ``key`` up to ``seq`` are known to the client from now on (a snapshot): whether
        that state is newer than what it knew."""
        return self._seen.offer(key, seq, None)

    def offer(self, message: dict[str, Any]) -> None:
        if not self._accept(message):
            return
        key, seq = message["uuid"], message["seq"]
        if seq > self._seen.seq(key) and self._pending.offer(key, seq, message):
            self._ready.set()

    def alarm_at(self, when: float) -> None:
        """``next`` returns None once the loop's clock reaches ``when`` (one alarm at a time)."""
        if self._alarm is None and not self._rang:
            self._alarm = asyncio.get_running_loop().call_at(when, self._ring)

    def _ring(self) -> None:
        self._alarm, self._rang = None, True
        self._ready.set()

    def close(self) -> None:
        if self._alarm is not None:
            self._alarm.cancel()
            self._alarm = None

    def __aiter__(self) -> AsyncIterator[dict[str, Any]]:
        return self._events()

    async def _events(self) -> AsyncIterator[dict[str, Any]]:
        while True:
            event = await self.next()
            if event is not None:
                yield event

    async def next(self) -> dict[str, Any] | None:
        """The next event the client does not know yet, or None when the alarm rings."""
        while True:
            await self._ready.wait()
            if self._rang:
                self._rang = False
                if not self._pending:
                    self._ready.clear()
                return None
            key, event = self._pending.pop_first()
            if not self._pending:
                self._ready.clear()
            if self._seen.offer(key, event["seq"], None):  # the client may know a newer state by now
                return event


class EventLoader:
    """Per process: one object (and at most one database read) per (status, seq, selection),
    however many subscribers.

    A selection of scalar fields is answered from the event alone; one that selects a relation
    reads the row with strawberry-django's optimizer, once for every subscription that selects
    the same."""

    def __init__(self, size: int = 512) -> None:
        self._loads: OrderedDict[tuple[int, int, str], asyncio.Future[UserTaskStatus | None]] = OrderedDict()
        self._built: OrderedDict[tuple[int, int], UserTaskStatus] = OrderedDict()
        self._size = size

    async def load(self, event: dict[str, Any], selection: Selection) -> UserTaskStatus | None:
        if not selection.reads_row:
            built_key = (event["id"], event["seq"])
            built = self._built.get(built_key)
            if built is None:
                built = self._built[built_key] = _shared(instance_from_event(UserTaskStatus, event))
                while len(self._built) > self._size:
                    self._built.popitem(last=False)
            return built
        key = (event["id"], event["seq"], selection.key)
        future = self._loads.get(key)
        if future is None or future.get_loop() is not asyncio.get_running_loop():
            future = asyncio.get_running_loop().create_future()
            self._loads[key] = future
            while len(self._loads) > self._size:
                self._loads.popitem(last=False)
            try:
                status = await sync_to_async(_read)(event["id"], selection.info)
                future.set_result(_shared(status) if status is not None else None)
            except Exception as exc:
                future.set_exception(exc)
                self._loads.pop(key, None)
                raise
        return await asyncio.shield(future)


RELATIONS = frozenset(field.name for field in UserTaskStatus._meta.get_fields() if field.is_relation)


class Selection:
    """What one subscription selects of a status, worked out once for all its events: whether it
    reaches past the row's own columns, and the key under which subscriptions selecting the same
    share one read."""

    def __init__(self, info: Info) -> None:
        selections = info.selected_fields[0].selections
        self.info = info
        self.reads_row = selects_relation(selections)
        self.key = repr(selections)


def selects_relation(selections: list[Any]) -> bool:
    """Whether a status's selection reaches past its own columns (fragments included)."""
    return selects_any(selections, RELATIONS)


def _read(status_id: int, info: Info) -> UserTaskStatus | None:
    found: UserTaskStatus | None = first_selected(UserTaskStatus.objects.filter(pk=status_id), info)
    return found


def _shared(status: UserTaskStatus) -> UserTaskStatus:
    """The object every subscriber of this event gets, carrying their shared results."""
    status.shared_results = SharedResults()  # type: ignore[attr-defined]
    return status


loader = EventLoader()
