"""The per-process hub: one channel-layer membership per group however many subscriptions, each
event handed out once, and outages of the layer hidden from clients (caught up from the database)."""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import logging
from typing import Any

import pytest
from channels.layers import InMemoryChannelLayer, get_channel_layer
from django.db.models import F
from django.utils import timezone

from user_tasks_graphql.core.events import GONE_SEQ
from user_tasks_graphql.live.groups import ALL_GROUP, status_group, user_group
from user_tasks_graphql.live.hub import EventHub, hub
from user_tasks_graphql.models import UserTaskStatus

from .wsclient import GraphQLSocket, session_cookie


class Inbox:
    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []

    def offer(self, event: dict[str, Any]) -> None:
        self.events.append(event)


def event(seq: int, key: str = "00000000-0000-0000-0000-000000000001", user_id: int = 1) -> dict[str, Any]:
    return {"type": "user_tasks.status", "uuid": key, "user_id": user_id, "seq": seq, "deleted": False}


async def wait_until(predicate: Any, timeout: float = 3.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not predicate():
        assert asyncio.get_running_loop().time() < deadline, "timed out"
        await asyncio.sleep(0.01)


async def test_a_backlog_is_handed_out_as_the_newest_state_per_status():
    """Events that queued up while the server was busy cost each listener one offer per status."""
    layer = InMemoryChannelLayer(capacity=10_000)
    central = EventHub(layer)
    inboxes = [Inbox() for _ in range(20)]
    other = "00000000-0000-0000-0000-000000000002"
    groups = [status_group(event(0)["uuid"]), status_group(other)]
    async with contextlib.AsyncExitStack() as stack:
        for inbox in inboxes:
            await stack.enter_async_context(central.listen(groups, inbox))
        channel = await central.channel()
        for seq in range(1, 1001):  # sending never suspends: all queued before the hub's reader runs
            await layer.send(channel, event(seq))
        await layer.send(channel, event(5, key=other))
        await wait_until(lambda: all(inbox.events and inbox.events[-1]["seq"] == 5 for inbox in inboxes))
        for inbox in inboxes:
            mine = [e["seq"] for e in inbox.events if e["uuid"] != other]
            assert mine[-1] == 1000, "the newest state arrives"
            assert mine == sorted(mine)
            assert len(mine) <= 1000 // 256 + 2, "one offer per batch read, not one per event"


async def test_one_membership_per_group_and_each_event_handed_out_once():
    layer = InMemoryChannelLayer()
    central = EventHub(layer)
    inboxes = [Inbox() for _ in range(50)]
    one = event(1)
    groups = [status_group(one["uuid"]), user_group(1), ALL_GROUP]
    async with contextlib.AsyncExitStack() as stack:
        for inbox in inboxes:
            await stack.enter_async_context(central.listen(groups, inbox))
        for group in groups:
            assert len(layer.groups[group]) == 1, "one member per process, not one per subscription"
        for group in groups:  # the publisher sends every event to all three of its groups
            await layer.group_send(group, one)
        await layer.group_send(groups[0], event(0))  # older than what was handed out: dropped
        await wait_until(lambda: all(inbox.events for inbox in inboxes))
        await asyncio.sleep(0.05)
        assert all(inbox.events == [one] for inbox in inboxes)
    assert not any(layer.groups.get(group) for group in groups), "the last listener out leaves the groups"
    assert central._listeners == {}


async def test_listeners_are_served_in_the_order_they_came():
    """Fair and predictable: the first subscriber of an event hears of it first, whichever of its
    groups (status, user, all) brought each listener in."""
    layer = InMemoryChannelLayer()
    central = EventHub(layer)
    served: list[int] = []

    class Numbered:
        def __init__(self, number: int) -> None:
            self.number = number

        def offer(self, event: dict[str, Any]) -> None:
            served.append(self.number)

    one = event(1)
    choices = [[status_group(one["uuid"])], [user_group(1)], [ALL_GROUP], [user_group(1), ALL_GROUP]]
    async with contextlib.AsyncExitStack() as stack:
        for number in range(40):
            await stack.enter_async_context(central.listen(choices[number * 7 % 4], Numbered(number)))
        await layer.group_send(ALL_GROUP, one)
        await wait_until(lambda: len(served) == 40)
    assert served == list(range(40))


async def test_listeners_get_only_their_groups():
    layer = InMemoryChannelLayer()
    central = EventHub(layer)
    mine, others = Inbox(), Inbox()
    async with central.listen([user_group(1)], mine), central.listen([user_group(2)], others):
        await layer.group_send(user_group(1), event(1, user_id=1))
        await wait_until(lambda: mine.events)
        await asyncio.sleep(0.05)
    assert len(mine.events) == 1
    assert others.events == []


async def test_membership_is_renewed(settings: Any):
    """channels-redis drops group members after ``group_expiry`` (24 h by default)."""
    settings.USER_TASKS_GROUP_REFRESH_INTERVAL = 0.05
    settings.USER_TASKS_LIVE_CHECK_INTERVAL = 0.02
    layer = RecordingLayer()
    async with EventHub(layer).listen(["g1", "g2"], Inbox()):
        await asyncio.sleep(0.3)
    assert layer.adds.count("g1") >= 3
    assert layer.adds.count("g2") >= 3


class RecordingLayer(InMemoryChannelLayer):
    """The in-memory layer, able to fail like an unreachable Redis."""

    def __init__(self) -> None:
        super().__init__()
        self.adds: list[str] = []
        self.down = False
        self.deaf = False  # messages vanish without an error, as during a pub/sub reconnect

    async def send(self, channel: str, message: dict[str, Any]) -> None:
        if not self.deaf:
            await super().send(channel, message)

    async def group_send(self, group: str, message: dict[str, Any]) -> None:
        if not self.deaf:
            await super().group_send(group, message)

    async def group_add(self, group: str, channel: str) -> None:
        if self.down:
            raise ConnectionError("Redis is down")
        self.adds.append(group)
        await super().group_add(group, channel)

    async def receive(self, channel: str) -> Any:
        """Fails while down, as a blocked read on a dead Redis connection does."""
        while True:
            if self.down:
                await asyncio.sleep(0.01)
                raise ConnectionError("Redis is down")
            with contextlib.suppress(TimeoutError):
                return await asyncio.wait_for(super().receive(channel), 0.05)


@pytest.mark.django_db(transaction=True)
async def test_an_outage_is_logged_once_and_caught_up_from_the_database(alice: Any, caplog: Any):
    layer = RecordingLayer()
    central = EventHub(layer)
    running = await UserTaskStatus.objects.acreate(user=alice, task_id="t1", task_class="c", name="running",
                                                   total_steps=10, state="In Progress")  # fmt: skip
    doomed = await UserTaskStatus.objects.acreate(
        user=alice, task_id="t2", task_class="c", name="doomed", total_steps=1
    )
    quiet = await UserTaskStatus.objects.acreate(user=alice, task_id="t3", task_class="c", name="quiet", total_steps=1)
    an_hour_ago = timezone.now() - datetime.timedelta(hours=1)
    await UserTaskStatus.objects.filter(pk=quiet.pk).aupdate(modified=an_hour_ago)
    followed, listing = Inbox(), Inbox()
    caplog.set_level(logging.WARNING, logger="user_tasks_graphql.live.hub")
    async with (
        central.listen([status_group(running.uuid)], followed),
        central.listen([status_group(doomed.uuid)], followed),
        central.listen([status_group(quiet.uuid)], followed),
        central.listen([user_group(alice.pk)], listing),
    ):
        layer.down = True  # the layer goes away; meanwhile the task finishes and one status is deleted
        await wait_until(lambda: "not being received" in caplog.text)
        await UserTaskStatus.objects.filter(pk=running.pk).aupdate(
            state="Succeeded", completed_steps=10, seq=F("seq") + 1
        )
        await UserTaskStatus.objects.filter(pk=doomed.pk).adelete()
        await asyncio.sleep(0.5)
        late = await UserTaskStatus.objects.acreate(
            user=alice, task_id="t4", task_class="c", name="late", total_steps=1
        )
        layer.down = False
        await wait_until(lambda: "received again" in caplog.text)
        await wait_until(lambda: len(followed.events) >= 2 and len(listing.events) >= 2)
    assert caplog.text.count("not being received") == 1, "once per outage, not once per retry"
    states = {e["uuid"]: e for e in followed.events}
    assert states[str(running.uuid)]["state"] == "Succeeded"
    assert states[str(running.uuid)]["completed_steps"] == 10
    assert states[str(doomed.uuid)]["deleted"]
    assert states[str(doomed.uuid)]["seq"] == GONE_SEQ
    assert str(quiet.uuid) not in states, "a status unchanged for an hour is not sent again"
    assert {e["name"] for e in listing.events} >= {"running", "late"}
    assert str(late.uuid) in {e["uuid"] for e in listing.events}, "a task created meanwhile shows up in lists"


@pytest.mark.django_db(transaction=True)
async def test_sockets_stay_open_and_subscriptions_catch_up_after_an_outage(
    application: Any, alice: Any, monkeypatch: pytest.MonkeyPatch
):
    """A layer outage is the server's business: the client's subscription just sees the newest state."""
    layer = RecordingLayer()
    monkeypatch.setattr("user_tasks_graphql.live.hub.get_channel_layer", lambda: layer)
    status = await UserTaskStatus.objects.acreate(user=alice, task_id="t", task_class="c", name="n",
                                                  total_steps=4, state="In Progress")  # fmt: skip
    socket = GraphQLSocket(application, await session_cookie(alice))
    await socket.connect()
    await socket.subscribe("1", "subscription($u: UUID!) { userTaskStatus(uuid: $u) { state completedSteps } }",
                          {"u": str(status.uuid)})  # fmt: skip
    assert (await socket.next_payload("1"))["data"]["userTaskStatus"] == {"state": "IN_PROGRESS", "completedSteps": 0}
    layer.down = True
    await asyncio.sleep(0.3)
    await UserTaskStatus.objects.filter(pk=status.pk).aupdate(state="Succeeded", completed_steps=4, seq=F("seq") + 1)
    layer.down = False
    got = await socket.next_payload("1", timeout=10)
    assert got["data"]["userTaskStatus"] == {"state": "SUCCEEDED", "completedSteps": 4}
    assert (await socket.receive())["type"] == "complete"
    await socket.close()


async def test_a_hub_per_event_loop_and_none_left_running():
    first = hub()
    assert hub() is first
    assert first._listeners == {}
    inbox = Inbox()
    async with first.listen(["g"], inbox):
        assert list(first._listeners) == ["g"]
        assert list(first._listeners["g"]) == [inbox]
        assert first._reader is not None
    assert first._reader is None, "no background task outlives the last subscription"
    assert get_channel_layer() is not None


async def test_one_channel_even_when_creating_it_takes_a_round_trip():
    """channels-redis's pub/sub layer subscribes in ``new_channel``: the reader and the first join
    must still end up on the same channel."""

    class SlowLayer(InMemoryChannelLayer):
        async def new_channel(self, prefix: str = "specific.") -> str:
            await asyncio.sleep(0.01)
            return await super().new_channel(prefix)

    layer = SlowLayer()
    inbox = Inbox()
    async with EventHub(layer).listen([user_group(1)], inbox):
        await layer.group_send(user_group(1), event(1))
        await wait_until(lambda: inbox.events)
    assert inbox.events == [event(1)]


@pytest.mark.django_db(transaction=True)
async def test_messages_lost_without_an_error_are_noticed_by_the_probe(alice: Any, caplog: Any, settings: Any):
    """A pub/sub connection that reconnects drops what was published meanwhile and raises nothing
    to its reader; the probe that does not come back is how the hub finds out."""
    settings.USER_TASKS_LIVE_CHECK_INTERVAL = 0.05
    layer = RecordingLayer()
    status = await UserTaskStatus.objects.acreate(user=alice, task_id="t", task_class="c", name="n",
                                                  total_steps=3, state="In Progress")  # fmt: skip
    inbox = Inbox()
    caplog.set_level(logging.WARNING, logger="user_tasks_graphql.live.hub")
    async with EventHub(layer).listen([status_group(status.uuid)], inbox):
        layer.deaf = True
        await UserTaskStatus.objects.filter(pk=status.pk).aupdate(
            state="Succeeded", completed_steps=3, seq=F("seq") + 1
        )
        await wait_until(lambda: "not being received" in caplog.text)
        layer.deaf = False
        await wait_until(lambda: inbox.events)
    assert "received again" in caplog.text
    assert [(e["state"], e["completed_steps"], e["seq"]) for e in inbox.events] == [("Succeeded", 3, 1)]
