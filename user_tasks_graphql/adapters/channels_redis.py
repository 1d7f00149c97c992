"""channels-redis's pub/sub layer, sent to a batch at a time with blocking Redis pipelines.

Why: the channel layer API sends one message to one group per call, from a coroutine. On
channels-redis's pub/sub layer that is one PUBLISH with its own round trip, every event goes to
three groups, and asyncio's and redis-py's async machinery cost more CPU per event than a short
task's database writes. ``PubSubPipeline`` sends a batch as one write per Redis shard on a plain
blocking connection, computing what ``group_send`` computes (the layer's channel names, shard
hashing and serializer), so subscribers receive exactly what ``group_send`` would send. Which groups
an event goes to is the project's: ``live.sending.PubSubPipeline`` says it.

channels-redis has no public API for this: its pub/sub layer publishes one message per
``group_send``, and the bulk sending proposed upstream (django/channels_redis#399, #400) is for
its core layer only, as Redis's PUBLISH takes one message. So this relies on the layer's private
parts: ``RedisPubSubChannelLayer._args``/``_kwargs`` (its configuration), and
``RedisPubSubLoopLayer._shards``, ``_get_shard`` and ``_get_group_channel_name`` with each
shard's ``host``, used on a loop layer that is built but never connects.

Checked against channels-redis 4.3.0 with redis-py 8.2.0; pinned below 4.4 in pyproject.toml. The
first ``PubSubPipeline.for_layer`` checks, once per process, that those parts are there and behave
(on a layer of its own that never connects); if any is missing it logs one warning naming it and
returns None from then on, and the publisher sends with the layer's public ``group_send``
(``live.sending.send_events``).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any, Self

import redis
import redis.sentinel
from channels_redis.pubsub import RedisPubSubChannelLayer, RedisPubSubLoopLayer

from .internals import InternalsCheck

logger = logging.getLogger(__name__)
PIPELINE_MESSAGES = 256  # messages per pipeline: bounds the memory and the time one pipeline takes
LAYER_ATTRIBUTES = ("_args", "_kwargs")  # set by RedisPubSubChannelLayer.__init__
LOOP_LAYER_METHODS = ("_get_shard", "_get_group_channel_name")


def _probe() -> list[str]:
    """What of the layer's private parts this channels-redis lacks, found on a layer of our own
    with two shards (checking the shard hashing too) that never connects."""
    layer = RedisPubSubChannelLayer(hosts=["redis://127.0.0.1:1/0", "redis://127.0.0.2:1/0"], prefix="probe")
    # vars(): the layer's __getattr__ hands unknown names to a per-loop layer, connecting
    missing = [f"RedisPubSubChannelLayer.{name}" for name in LAYER_ATTRIBUTES if name not in vars(layer)]
    for name in LOOP_LAYER_METHODS:
        if not callable(getattr(RedisPubSubLoopLayer, name, None)):
            missing.append(f"RedisPubSubLoopLayer.{name}")
    if missing:
        return missing
    try:
        names = RedisPubSubLoopLayer(*layer._args, **layer._kwargs, channel_layer=layer)
    except TypeError:
        return ["RedisPubSubLoopLayer(*args, channel_layer=..., **kwargs)"]
    shards = vars(names).get("_shards")
    if not isinstance(shards, list) or len(shards) != 2:
        return ["RedisPubSubLoopLayer._shards"]
    if not all(isinstance(vars(shard).get("host"), dict) for shard in shards):
        return ["RedisSingleShardConnection.host"]
    try:
        channel = names._get_group_channel_name("probe")
    except TypeError:
        channel = None
    if not isinstance(channel, str) or "probe" not in channel:
        return ["RedisPubSubLoopLayer._get_group_channel_name(group)"]
    try:
        shard = names._get_shard(channel)
    except TypeError:
        shard = None
    if not any(shard is known for known in shards):
        return ["RedisPubSubLoopLayer._get_shard(channel)"]
    return []


CHECK = InternalsCheck(
    "channels-redis",
    _probe,
    "the pub/sub layer as channels-redis 4.3 builds it",
    "live updates are sent with group_send, one PUBLISH per group and event, instead of pipelines",
    logger,
)


def missing_internals() -> tuple[str, ...]:
    """The private parts of channels-redis that ``PubSubPipeline`` needs and does not find (checked once)."""
    return CHECK.missing()


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
    """Sends messages to the groups of a channels-redis pub/sub layer with blocking PUBLISH pipelines.

    Built from the layer's own configuration. Use ``for_layer``: it returns None for any other
    layer, or when this channels-redis lacks what the pipelines rely on. A subclass says which
    groups a message goes to (``groups_of``): this module knows the layer, not the messages.
    """

    def __init__(self, layer: Any, timeout: float) -> None:
        self.layer = layer
        self._names = RedisPubSubLoopLayer(*layer._args, **layer._kwargs, channel_layer=layer)  # never connects
        shards = self._names._shards
        self._index = {id(shard): index for index, shard in enumerate(shards)}
        self._pools = [sync_pool(shard.host, timeout) for shard in shards]
        self._connections: list[redis.Connection | None] = [None] * len(shards)

    @classmethod
    def for_layer(cls, layer: Any, timeout: float) -> Self | None:
        """The pipelines of ``layer``; None when it is sent to with ``group_send`` instead."""
        if not isinstance(layer, RedisPubSubChannelLayer) or missing_internals():
            return None
        try:
            return cls(layer, timeout)
        except (AttributeError, KeyError, TypeError, ValueError) as exc:  # a configuration sync_pool cannot read
            logger.warning("Live updates to %r are sent with group_send: no pipeline for it (%r)", layer, exc)
            return None

    def groups_of(self, message: dict[str, Any]) -> Iterable[str]:
        """The groups ``message`` is sent to."""
        raise NotImplementedError

    def route(self, group: str) -> tuple[str, int]:
        """The Redis channel of ``group`` and the index of its shard, as the layer computes them."""
        channel = self._names._get_group_channel_name(group)
        return channel, self._index[id(self._names._get_shard(channel))]

    def send(self, messages: list[dict[str, Any]]) -> None:
        """Publish each message to its groups, in order: per shard, the commands go out in one write
        and their replies are read after it (one round trip, as a pipeline, without redis-py's
        per-pipeline machinery, which costs more CPU than the PUBLISHes themselves)."""
        for start in range(0, len(messages), PIPELINE_MESSAGES):
            commands: dict[int, list[tuple[str, str, bytes]]] = {}
            for message in messages[start : start + PIPELINE_MESSAGES]:
                serialized = self.layer.serialize(message)
                for group in self.groups_of(message):
                    channel, shard = self.route(group)
                    commands.setdefault(shard, []).append(("PUBLISH", channel, serialized))
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
