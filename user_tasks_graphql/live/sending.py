"""Putting a batch of events on the channel layer, each event to its groups (``groups_for``).

Every layer is sent to through its public API, ``group_send`` (``send_events``), except
channels-redis's pub/sub layer, whose batches go out as blocking pipelines (``PubSubPipeline``,
built on ``adapters.channels_redis``) while the channels-redis installed has what those rely on;
with any other channels-redis, that layer is sent to with ``group_send`` too.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from typing import Any

from ..adapters import channels_redis
from .groups import groups_for

SEND_CONCURRENCY = 16  # events sent at once by group_send (each to three groups): bounded, or a burst exhausts the pool


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


async def send_events(layer: Any, events: list[dict[str, Any]]) -> None:
    """``group_send`` each event to its groups, the events of one status in the order given."""
    for chunk in send_chunks(events):
        await asyncio.gather(*(layer.group_send(group, event) for event in chunk for group in groups_for(event)))


class PubSubPipeline(channels_redis.PubSubPipeline):
    """channels-redis's pub/sub pipelines, sending each status event to its groups;
    ``PubSubPipeline.for_layer(layer, timeout)`` is None where ``send_events`` is used instead."""

    def groups_of(self, message: dict[str, Any]) -> list[str]:
        return groups_for(message)
