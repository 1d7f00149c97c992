"""Putting a batch of events on the channel layer.

The channel layer API sends one message to one group per call, from a coroutine. On channels-redis's
pub/sub layer that is one PUBLISH with its own round trip, every event goes to three groups, and
asyncio's and redis-py's async machinery cost about 200 us of CPU per event: with two events per
task, more than a short task's database writes. For that layer ``PubSubPipeline`` sends a batch as
one pipeline per Redis shard on a plain socket (about 50 us per event), computing what
``group_send`` computes (the layer's channel names, shard hashing and serializer), so subscribers
receive exactly what ``group_send`` would send. Any other layer gets ``group_send`` per group.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from typing import Any

import redis
import redis.sentinel

from .events import groups_for

SEND_CONCURRENCY = 16  # events sent at once by group_send (each to three groups): bounded, or a burst exhausts the pool
PIPELINE_EVENTS = 256  # events per pipeline: bounds the memory and the time one pipeline takes


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


def sync_pool(host: dict[str, Any], timeout: float) -> redis.ConnectionPool:
    """A blocking connection pool for one entry of the layer's ``hosts``, read as channels-redis's
    ``create_pool`` reads it (URL, Sentinel, or connection keywords), with ``timeout`` on its sockets."""
    host = {**host, "socket_timeout": timeout, "socket_connect_timeout": timeout}
    if "address" in host:
        return redis.ConnectionPool.from_url(host.pop("address"), **host)
    master_name = host.pop("master_name", None)
    if master_name is not None:
        sentinel = redis.sentinel.Sentinel(host.pop("sentinels"), sentinel_kwargs=host.pop("sentinel_kwargs", None))
        return redis.sentinel.SentinelConnectionPool(master_name, sentinel, **host)
    return redis.ConnectionPool(**host)


class PubSubPipeline:
    """Sends events to the groups of a channels-redis pub/sub layer with blocking PUBLISH pipelines.

    Built from the layer's own configuration; ``for_layer`` returns None for any other layer, or a
    channels-redis release whose pub/sub layer no longer has what this relies on.
    """

    def __init__(self, layer: Any, timeout: float) -> None:
        from channels_redis.pubsub import RedisPubSubLoopLayer

        self.layer = layer
        self._names = RedisPubSubLoopLayer(*layer._args, **layer._kwargs, channel_layer=layer)  # never connects
        shards = self._names._shards
        self._index = {id(shard): index for index, shard in enumerate(shards)}
        self._clients = [redis.Redis(connection_pool=sync_pool(shard.host, timeout)) for shard in shards]

    @classmethod
    def for_layer(cls, layer: Any, timeout: float) -> PubSubPipeline | None:
        try:
            from channels_redis.pubsub import RedisPubSubChannelLayer
        except ImportError:
            return None
        if not isinstance(layer, RedisPubSubChannelLayer):
            return None
        try:
            return cls(layer, timeout)
        except (AttributeError, TypeError):
            return None

    def route(self, group: str) -> tuple[str, int]:
        """The Redis channel of ``group`` and the index of its shard, as the layer computes them."""
        channel = self._names._get_group_channel_name(group)
        return channel, self._index[id(self._names._get_shard(channel))]

    def send(self, events: list[dict[str, Any]]) -> None:
        """Publish each event to its groups, in order (a pipeline keeps its commands in order)."""
        for start in range(0, len(events), PIPELINE_EVENTS):
            pipelines: dict[int, Any] = {}
            for event in events[start : start + PIPELINE_EVENTS]:
                message = self.layer.serialize(event)
                for group in groups_for(event):
                    channel, shard = self.route(group)
                    if shard not in pipelines:
                        pipelines[shard] = self._clients[shard].pipeline(transaction=False)
                    pipelines[shard].publish(channel, message)
            for pipeline in pipelines.values():
                pipeline.execute()

    def close(self) -> None:
        for client in self._clients:
            client.close()
            client.connection_pool.disconnect()
