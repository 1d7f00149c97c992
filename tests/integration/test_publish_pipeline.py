"""Events a worker publishes reach subscribers of channels-redis's pub/sub layer exactly as
``group_send`` would deliver them: the publisher's pipelines use the layer's channel names,
shards and serializer."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import pytest
from channels.layers import get_channel_layer

from user_tasks_graphql.core.events import EVENT_TYPE
from user_tasks_graphql.live.groups import ALL_GROUP, groups_for, status_group, user_group
from user_tasks_graphql.live.publisher import Publisher
from user_tasks_graphql.live.sending import PubSubPipeline

pytestmark = [pytest.mark.integration]


def event(status_uuid: str, seq: int, user_id: int = 7) -> dict[str, Any]:
    return {"type": EVENT_TYPE, "deleted": False, "id": 1, "uuid": status_uuid, "user_id": user_id, "seq": seq,
            "state": "In Progress", "completed_steps": seq, "modified": "2026-01-01T00:00:00+00:00"}  # fmt: skip


async def test_every_group_receives_each_event_in_order(services: dict[str, str]):
    layer = get_channel_layer()
    assert PubSubPipeline.for_layer(layer, 1.0) is not None, "the pub/sub layer is sent to by pipeline"
    mine, other = str(uuid.uuid4()), str(uuid.uuid4())
    listeners = {}
    for group in (status_group(mine), user_group(7), ALL_GROUP):
        listeners[group] = await layer.new_channel()
        await layer.group_add(group, listeners[group])
    publisher = Publisher()
    sent = [event(mine, seq) for seq in range(1, 41)] + [event(other, 1, user_id=8)]
    for one in sent:
        publisher.publish([one])
    assert await asyncio.to_thread(publisher.wait, 5)

    async def drain(channel: str) -> list[dict[str, Any]]:
        received = []
        while True:
            try:
                received.append(await asyncio.wait_for(layer.receive(channel), 0.5))
            except TimeoutError:
                return received

    by_group = {group: await drain(channel) for group, channel in listeners.items()}
    for group, received in by_group.items():
        seqs = [message["seq"] for message in received if message["uuid"] == mine]
        assert seqs == sorted(seqs), f"{group}: in order"
        assert seqs[-1] == 40, f"{group}: the newest arrives"
        assert all(message == sent[message["seq"] - 1] for message in received if message["uuid"] == mine)
    assert [m["uuid"] for m in by_group[ALL_GROUP] if m["uuid"] == other] == [other]
    assert other not in {m["uuid"] for m in by_group[status_group(mine)] + by_group[user_group(7)]}
    for group in listeners:
        assert group in groups_for(sent[0])


async def test_a_connection_redis_dropped_while_idle_is_replaced_and_the_event_delivered(services: dict[str, str]):
    """Redis closes the sender's idle connection (a restart, ``timeout``, a proxy): the next send
    goes out on a new connection instead of failing (which would hold events back until the retry)."""
    import redis

    layer = get_channel_layer()
    pipeline = PubSubPipeline.for_layer(layer, 1.0)
    assert pipeline is not None
    mine = str(uuid.uuid4())
    listener = await layer.new_channel()
    await layer.group_add(status_group(mine), listener)
    await asyncio.to_thread(pipeline.send, [event(mine, 1)])
    assert (await asyncio.wait_for(layer.receive(listener), 2))["seq"] == 1
    connection = pipeline._connection(0)
    admin = redis.Redis(host=connection.host, port=connection.port, db=connection.db)
    host, port = connection._sock.getsockname()[:2]
    assert admin.client_kill_filter(addr=f"{host}:{port}") == 1
    await asyncio.to_thread(pipeline.send, [event(mine, 2)])
    assert (await asyncio.wait_for(layer.receive(listener), 2))["seq"] == 2
    pipeline.close()
