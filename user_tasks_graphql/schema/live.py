"""What a live subscription needs between the channel layer and the client.

- ``LatestEvents`` drains the consumer's listen queue as events arrive and keeps only the newest
  event per status, so a client that reads slowly never builds a backlog on the server.
- ``GroupRefresher`` re-joins the subscription's groups now and then, so membership does not
  expire (channels-redis drops members after ``group_expiry``, 24 h by default).
- ``EventLoader`` turns an event into the object the GraphQL types read: from the event alone
  for scalar fields, or one database read shared by every subscriber of the same event when the
  query selects relations.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable, Sequence
from typing import Any, Self

from asgiref.sync import sync_to_async

from .. import conf
from ..events import status_from_event
from ..models import UserTaskStatus
from .prefetch import LoadPlan


class _InBackground:
    """An async context manager that runs ``_run`` as a task while the block runs."""

    _task: asyncio.Task[None] | None = None

    async def _run(self) -> None:
        raise NotImplementedError

    async def __aenter__(self) -> Self:
        self._task = asyncio.create_task(self._run())
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task


class LatestEvents(_InBackground):
    def __init__(self, messages: AsyncIterator[dict[str, Any]], accept: Callable[[dict[str, Any]], bool]) -> None:
        self._messages = messages
        self._accept = accept
        self._pending: OrderedDict[str, dict[str, Any]] = OrderedDict()
        self._seen: dict[str, int] = {}
        self._ready = asyncio.Event()

    def seen(self, key: str, seq: int) -> None:
        """Events of ``key`` up to ``seq`` are already known to the client (the snapshot)."""
        self._seen[key] = max(seq, self._seen.get(key, -1))

    async def _run(self) -> None:  # drain the listen queue as messages arrive
        async for message in self._messages:
            if not self._accept(message):
                continue
            key, seq = message["uuid"], message["seq"]
            if seq <= self._seen.get(key, -1):
                continue
            queued = self._pending.get(key)
            if queued is None or seq > queued["seq"]:
                self._pending[key] = message
                self._ready.set()

    def __aiter__(self) -> AsyncIterator[dict[str, Any]]:
        return self._events()

    async def _events(self) -> AsyncIterator[dict[str, Any]]:
        while True:
            await self._ready.wait()
            key, event = self._pending.popitem(last=False)
            if not self._pending:
                self._ready.clear()
            if event["seq"] <= self._seen.get(key, -1):
                continue
            self.seen(key, event["seq"])
            yield event


class GroupRefresher(_InBackground):
    def __init__(self, layer: Any, channel_name: str, groups: Sequence[str]) -> None:
        self._layer, self._channel, self._groups = layer, channel_name, list(groups)

    async def _run(self) -> None:
        interval = conf.group_refresh_interval()
        while True:
            await asyncio.sleep(interval)
            for group in self._groups:
                with contextlib.suppress(Exception):  # a failed refresh is retried next time
                    await self._layer.group_add(group, self._channel)


class EventLoader:
    """Per process: one database read per (status, seq, selection), however many subscribers."""

    def __init__(self, size: int = 512) -> None:
        self._loads: OrderedDict[tuple[int, int, str], asyncio.Future[UserTaskStatus | None]] = OrderedDict()
        self._built: OrderedDict[tuple[int, int, str], UserTaskStatus] = OrderedDict()
        self._size = size

    async def load(self, event: dict[str, Any], plan: LoadPlan) -> UserTaskStatus | None:
        key = (event["id"], event["seq"], plan.key())
        if not plan.select_related and not plan.prefetch:
            built = self._built.get(key)
            if built is None:
                built = self._built[key] = status_from_event(event)
                while len(self._built) > self._size:
                    self._built.popitem(last=False)
            return built
        future = self._loads.get(key)
        if future is None or future.get_loop() is not asyncio.get_running_loop():
            future = asyncio.get_running_loop().create_future()
            self._loads[key] = future
            while len(self._loads) > self._size:
                self._loads.popitem(last=False)
            try:
                future.set_result(await sync_to_async(_read)(event["id"], plan))
            except Exception as exc:
                future.set_exception(exc)
                self._loads.pop(key, None)
                raise
        return await asyncio.shield(future)


def _read(pk: int, plan: LoadPlan) -> UserTaskStatus | None:
    return plan.apply(UserTaskStatus.objects.filter(pk=pk)).first()


loader = EventLoader()
