"""Putting a batch of events on the channel layer.

The channel layer API sends one message to one group per call, from a coroutine. On channels-redis's
pub/sub layer that is one PUBLISH with its own round trip, every event goes to three groups, and
asyncio's and redis-py's async machinery cost about 200 us of CPU per event: with two events per
task, more than a short task's database writes. For that layer ``PubSubPipeline`` sends a batch as
one write per Redis shard on a plain blocking connection (about 100 us of CPU for an event, against
about 220 us through a redis-py pipeline), computing what
``group_send`` computes (the layer's channel names, shard hashing and serializer), so subscribers
receive exactly what ``group_send`` would send. Any other layer gets ``group_send`` per group.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from typing import Any

import redis
import redis.sentinel

from .groups import groups_for

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
        self._pools = [sync_pool(shard.host, timeout) for shard in shards]
        self._connections: list[redis.Connection | None] = [None] * len(shards)

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
        """Publish each event to its groups, in order: per shard, the commands go out in one write
        and their replies are read after it (one round trip, as a pipeline, without redis-py's
        per-pipeline machinery, which cost three times the CPU of the PUBLISHes themselves)."""
        for start in range(0, len(events), PIPELINE_EVENTS):
            commands: dict[int, list[tuple[str, str, bytes]]] = {}
            for event in events[start : start + PIPELINE_EVENTS]:
                message = self.layer.serialize(event)
                for group in groups_for(event):
                    channel, shard = self.route(group)
                    commands.setdefault(shard, []).append(("PUBLISH", channel, message))
            for shard, publishes in commands.items():
                self._publish(shard, publishes)

    def _publish(self, shard: int, commands: list[tuple[str, str, bytes]]) -> None:
        """Run ``commands`` on the shard's connection. A connection that breaks is closed; a reset
        one (Redis restarted or dropped it while idle) is tried again once on a new connection,
        as redis-py retries a pipeline; a timeout or a second failure is raised."""
        connection = self._connection(shard)
        for attempt in (1, 2):
            try:
                connection.send_packed_command(connection.pack_commands(commands), check_health=False)
                for _ in commands:
                    connection.read_response()
                return
            except redis.ConnectionError:
                connection.disconnect()
                if attempt == 2:
                    raise
            except BaseException:
                connection.disconnect()  # replies may be left unread: never reuse it as it is
                raise

    def _connection(self, shard: int) -> redis.Connection:
        """The shard's one connection, taken from its pool once (only the sender thread sends)."""
        connection = self._connections[shard]
        if connection is None:
            connection = self._connections[shard] = self._pools[shard].get_connection()
        return connection

    def close(self) -> None:
        for pool in self._pools:
            pool.disconnect()
        self._connections = [None] * len(self._pools)
