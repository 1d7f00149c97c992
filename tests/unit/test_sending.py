"""How the publisher reaches the channel layer: which layers get pipelines, and how their pools
and shards are built from the layer's own configuration (no Redis needed here; the integration
suite checks delivery to real subscribers)."""

import uuid

import pytest
import redis
import redis.sentinel
from channels.layers import InMemoryChannelLayer
from channels_redis.pubsub import RedisPubSubChannelLayer

from user_tasks_graphql.live.groups import status_group
from user_tasks_graphql.live.sending import PubSubPipeline, sync_pool


def test_only_the_pubsub_layer_gets_pipelines():
    assert PubSubPipeline.for_layer(InMemoryChannelLayer(), 1.0) is None
    layer = RedisPubSubChannelLayer(hosts=["redis://127.0.0.1:6399/0"], prefix="p")
    assert PubSubPipeline.for_layer(layer, 1.0) is not None


def test_groups_go_to_the_shard_and_channel_the_layer_uses():
    hosts = [f"redis://127.0.0.1:{port}/0" for port in (6390, 6391, 6392)]
    layer = RedisPubSubChannelLayer(hosts=hosts, prefix="shards")
    pipeline = PubSubPipeline(layer, 1.0)
    used = set()
    for n in range(200):
        group = status_group(uuid.UUID(int=n))
        channel, shard = pipeline.route(group)
        assert channel == f"shards__group__{group}"
        assert pipeline._pools[shard].connection_kwargs["port"] == 6390 + shard
        used.add(shard)
    assert used == {0, 1, 2}, "groups are spread over every shard"


def test_pools_are_built_as_channels_redis_builds_them():
    by_url = sync_pool({"address": "redis://:secret@10.0.0.5:6380/3", "max_connections": 7}, 0.5)
    assert {key: by_url.connection_kwargs[key] for key in ("host", "port", "db", "password", "socket_timeout")} == {
        "host": "10.0.0.5", "port": 6380, "db": 3, "password": "secret", "socket_timeout": 0.5,
    }  # fmt: skip
    assert by_url.max_connections == 7
    by_keywords = sync_pool({"host": "10.0.0.6", "port": 6381}, 0.5)
    assert (by_keywords.connection_kwargs["host"], by_keywords.connection_kwargs["socket_connect_timeout"]) == (
        "10.0.0.6",
        0.5,
    )
    sentinel = sync_pool({"master_name": "main", "sentinels": [("10.0.0.7", 26379)]}, 0.5)
    assert isinstance(sentinel, redis.sentinel.SentinelConnectionPool)
    assert sentinel.service_name == "main"


@pytest.mark.parametrize("written", ["2F1E3A7C-0D4B-4B7E-9C1A-5E6F7A8B9C0D", "2f1e3a7c0d4b4b7e9c1a5e6f7a8b9c0d"])
def test_a_status_group_is_the_same_however_the_uuid_is_written(written: str):
    canonical = uuid.UUID(written)
    assert status_group(written) == status_group(str(canonical)) == status_group(canonical)
    assert status_group(str(canonical)) == f"user_tasks.status.{canonical.hex}"


def test_a_pool_error_surfaces_as_a_redis_error():
    """A send to a Redis that is not there fails (the publisher keeps the events for later)."""
    layer = RedisPubSubChannelLayer(hosts=["redis://127.0.0.1:1/0"], prefix="p")
    pipeline = PubSubPipeline(layer, 0.2)
    event = {"uuid": str(uuid.uuid4()), "user_id": 1, "seq": 1}
    with pytest.raises(redis.ConnectionError):
        pipeline.send([event])


class FakeConnection:
    """Stands for a redis-py connection: each send takes the next outcome (None or an error)."""

    def __init__(self, outcomes: list[BaseException | None]) -> None:
        self.outcomes = outcomes
        self.sent: list[list[tuple[str, str, bytes]]] = []
        self.disconnects = 0

    def pack_commands(self, commands):
        return list(commands)

    def send_packed_command(self, commands, check_health=True):
        outcome = self.outcomes.pop(0)
        if outcome is not None:
            raise outcome
        self.sent.append(commands)

    def read_response(self):
        return 1

    def disconnect(self):
        self.disconnects += 1


def fake_pipeline(outcomes: list[BaseException | None]) -> tuple[PubSubPipeline, FakeConnection]:
    pipeline = PubSubPipeline(RedisPubSubChannelLayer(hosts=["redis://127.0.0.1:6399/0"], prefix="p"), 1.0)
    connection = FakeConnection(outcomes)
    pipeline._connections[0] = connection  # type: ignore[assignment]
    return pipeline, connection


def test_one_send_is_one_write_of_every_publish():
    pipeline, connection = fake_pipeline([None])
    events = [{"uuid": str(uuid.uuid4()), "user_id": 1, "seq": n} for n in range(3)]
    pipeline.send(events)
    (written,) = connection.sent
    assert [command[0] for command in written] == ["PUBLISH"] * 9, "three events, three groups each"
    assert connection.disconnects == 0


def test_a_reset_connection_is_replaced_once():
    pipeline, connection = fake_pipeline([redis.ConnectionError("reset"), None])
    pipeline.send([{"uuid": str(uuid.uuid4()), "user_id": 1, "seq": 1}])
    assert len(connection.sent) == 1
    assert connection.disconnects == 1


@pytest.mark.parametrize(
    "outcomes",
    [[redis.ConnectionError("reset"), redis.ConnectionError("still down")], [redis.TimeoutError("slow")]],
    ids=["second reset", "timeout"],
)
def test_a_second_reset_or_a_timeout_is_raised_and_the_connection_closed(outcomes):
    attempts = len(outcomes)
    pipeline, connection = fake_pipeline(outcomes)
    with pytest.raises(redis.RedisError):
        pipeline.send([{"uuid": str(uuid.uuid4()), "user_id": 1, "seq": 1}])
    assert connection.sent == []
    assert connection.disconnects == attempts
