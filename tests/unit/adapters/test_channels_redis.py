"""The publisher's pipelines on channels-redis's pub/sub layer (adapters/channels_redis.py, each
event's groups from live/sending.py): which layers get them, how their pools and shards are built
from the layer's own configuration, and what happens when channels-redis lacks the private parts
they rely on: one warning, and events still reach subscribers through ``group_send`` (that test
needs Redis: db 9 of TEST_CHANNEL_REDIS_URL or of redis://127.0.0.1:6379; the integration suite
checks the pipelines' own delivery)."""

import asyncio
import os
import uuid
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pytest
import redis
import redis.sentinel
from channels.layers import InMemoryChannelLayer
from channels_redis.pubsub import RedisPubSubChannelLayer, RedisPubSubLoopLayer, RedisSingleShardConnection

from tests.services import service_missing
from tests.unit.adapters.checks import Warnings, checked_anew
from user_tasks_graphql.adapters import channels_redis
from user_tasks_graphql.adapters.channels_redis import sync_pool
from user_tasks_graphql.core.events import EVENT_TYPE
from user_tasks_graphql.live import publisher as publisher_module
from user_tasks_graphql.live.groups import groups_for, status_group
from user_tasks_graphql.live.sending import PubSubPipeline


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
    pipeline._connections[0] = connection  # type: ignore[call-overload]
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


# ---- without the private parts: group_send ------------------------------------------------------


@pytest.fixture
def unchecked(monkeypatch: pytest.MonkeyPatch) -> Iterator[Warnings]:
    with checked_anew(monkeypatch, channels_redis.CHECK) as warnings:
        yield warnings


def _rename_in_init(cls: Any, old: str, new: str) -> Callable[[pytest.MonkeyPatch], None]:
    """A channels-redis whose ``cls`` keeps what it set as ``old`` under ``new``."""

    def rename(monkeypatch: pytest.MonkeyPatch) -> None:
        original = cls.__init__

        def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
            original(self, *args, **kwargs)
            setattr(self, new, vars(self).pop(old))

        monkeypatch.setattr(cls, "__init__", __init__)

    return rename


def _layer_configured_otherwise(self: Any, config: dict[str, Any]) -> None:
    self.config = config


def _remove(cls: type, name: str) -> Callable[[pytest.MonkeyPatch], None]:
    return lambda monkeypatch: monkeypatch.delattr(cls, name)


BREAKAGES = {
    "RedisPubSubLoopLayer._get_group_channel_name": _remove(RedisPubSubLoopLayer, "_get_group_channel_name"),
    "RedisPubSubLoopLayer._get_shard": _remove(RedisPubSubLoopLayer, "_get_shard"),
    "RedisPubSubLoopLayer._shards": _rename_in_init(RedisPubSubLoopLayer, "_shards", "shards"),
    "RedisPubSubChannelLayer._args": _rename_in_init(RedisPubSubChannelLayer, "_args", "args"),
    "RedisSingleShardConnection.host": _rename_in_init(RedisSingleShardConnection, "host", "address"),
    "the pub/sub layer as channels-redis 4.3 builds it": lambda m: m.setattr(
        RedisPubSubChannelLayer, "__init__", _layer_configured_otherwise
    ),
}


@pytest.mark.parametrize("missing", list(BREAKAGES))
def test_missing_internals_mean_no_pipeline_and_one_warning(
    missing: str, unchecked: Warnings, monkeypatch: pytest.MonkeyPatch
):
    layer = RedisPubSubChannelLayer(hosts=["redis://127.0.0.1:6399/0"], prefix="p")
    with monkeypatch.context() as broken:
        BREAKAGES[missing](broken)
        assert PubSubPipeline.for_layer(layer, 1.0) is None
        assert PubSubPipeline.for_layer(layer, 1.0) is None
    assert PubSubPipeline.for_layer(RedisPubSubChannelLayer(hosts=["redis://127.0.0.1:6399/0"]), 1.0) is None, (
        "for good: the check is not made again"
    )
    (warning,) = unchecked.records
    assert missing in warning.getMessage()
    assert "group_send" in warning.getMessage()


def test_this_channels_redis_has_what_the_pipelines_need(unchecked: Warnings):
    assert channels_redis.missing_internals() == ()
    assert unchecked.records == []


def _redis_url() -> str:
    """Database 9 of the test Redis (pub/sub ignores the number: a unique prefix separates tests)."""
    parts = urlsplit(os.environ.get("TEST_CHANNEL_REDIS_URL") or "redis://127.0.0.1:6379")
    url = urlunsplit(parts._replace(path="/9"))
    try:
        redis.Redis.from_url(url, socket_connect_timeout=0.5).ping()
    except redis.ConnectionError:
        service_missing(f"no Redis at {url}")
    return url


async def test_without_the_internals_events_reach_subscribers_with_group_send(
    unchecked: Warnings, monkeypatch: pytest.MonkeyPatch
):
    url = _redis_url()
    prefix = f"adapter-test-{uuid.uuid4().hex}"
    layer = RedisPubSubChannelLayer(hosts=[url], prefix=prefix)
    with monkeypatch.context() as broken:
        broken.delattr(RedisPubSubLoopLayer, "_get_group_channel_name")
        assert PubSubPipeline.for_layer(layer, 1.0) is None
    # channels-redis is whole again (group_send needs what was missing); the publisher keeps to group_send
    event = {"type": EVENT_TYPE, "deleted": False, "id": 1, "uuid": str(uuid.uuid4()), "user_id": 7, "seq": 1,
             "state": "In Progress", "completed_steps": 1, "modified": "2026-01-01T00:00:00+00:00"}  # fmt: skip
    listeners = {}
    for group in groups_for(event):
        listeners[group] = await layer.new_channel()
        await layer.group_add(group, listeners[group])
    admin = redis.Redis.from_url(url)
    for _ in range(100):  # subscribed (SUBSCRIBE is not waited for) before anything is published
        if len(admin.pubsub_channels(f"{prefix}*")) == 2 * len(listeners):
            break
        await asyncio.sleep(0.02)
    monkeypatch.setattr(publisher_module, "get_channel_layer", lambda: layer)
    publisher = publisher_module.Publisher()
    try:
        publisher.publish([event])
        assert await asyncio.to_thread(publisher.wait, 5)
        assert publisher._pipeline is None, "sent with group_send"
        for group, channel in listeners.items():
            assert await asyncio.wait_for(layer.receive(channel), 2) == event, group
    finally:
        if publisher._loop is not None:
            await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(layer.flush(), publisher._loop))
            publisher._loop.call_soon_threadsafe(publisher._loop.stop)
        await layer.flush()
    (warning,) = unchecked.records
    assert "RedisPubSubLoopLayer._get_group_channel_name" in warning.getMessage()
