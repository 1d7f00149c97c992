"""A channel layer that fails, hangs or is slow never fails or stalls a task, and events are not lost."""

import asyncio
import logging
import time
from typing import Any

import pytest

from user_tasks_graphql.live import publisher as publish
from user_tasks_graphql.live import sending
from user_tasks_graphql.live.publisher import Publisher


class FlakyLayer:
    def __init__(self) -> None:
        self.mode = "down"
        self.sent: list[tuple[str, dict]] = []

    async def group_send(self, group: str, message: dict) -> None:
        if self.mode == "down":
            raise ConnectionError("Connection refused")
        if self.mode == "hang":
            await asyncio.sleep(30)
        if self.mode == "slow":
            await asyncio.sleep(0.05)
        self.sent.append((group, message))


@pytest.fixture
def layer(monkeypatch: pytest.MonkeyPatch) -> FlakyLayer:
    flaky = FlakyLayer()
    monkeypatch.setattr(publish, "get_channel_layer", lambda: flaky)
    return flaky


def event(key: str, seq: int) -> dict[str, Any]:
    return {"type": "user_tasks.status", "uuid": f"00000000-0000-0000-0000-00000000000{key}", "user_id": 1, "seq": seq}


def test_outage_is_logged_once_and_newest_events_are_sent_after(layer: FlakyLayer, settings: Any, caplog: Any):
    settings.USER_TASKS_PUBLISH_RETRY_AFTER = 0.2
    publisher = Publisher()
    with caplog.at_level(logging.WARNING, logger="user_tasks_graphql.live.publisher"):
        for seq in range(1, 51):
            publisher.publish([event("1", seq)])
        publisher.publish([event("2", 1)])
        assert publisher.wait(5)
        assert [r.message for r in caplog.records].count(caplog.records[0].message) == 1
        assert "not being published" in caplog.records[0].message
        layer.mode = "up"
        time.sleep(0.25)
        publisher.publish([])
        assert publisher.wait(5)
    sent = {(message["uuid"][-1], message["seq"]) for _, message in layer.sent}
    assert sent == {("1", 50), ("2", 1)}, "after the outage the newest state of each task goes out"
    assert "published again" in caplog.records[-1].message


def test_publish_gives_up_after_the_timeout(layer: FlakyLayer, settings: Any):
    settings.USER_TASKS_PUBLISH_TIMEOUT = 0.2
    layer.mode = "hang"
    publisher = Publisher()
    started = time.monotonic()
    publisher.publish([event("1", 1)])
    assert time.monotonic() - started < 1.0
    settings.USER_TASKS_PUBLISH_RETRY_AFTER = 5
    started = time.monotonic()
    for seq in range(2, 100):
        publisher.publish([event("1", seq)])
    assert time.monotonic() - started < 0.5, "during an outage publishes cost nothing"
    assert publisher.wait(5), "the hung send gave up"


def test_publish_does_not_wait_for_the_layer(layer: FlakyLayer):
    """The task goes on while its events are sent: in order, those that waited for an earlier send
    coalesced to the newest."""
    layer.mode = "slow"
    publisher = Publisher()
    started = time.monotonic()
    for seq in range(1, 6):
        publisher.publish([event("1", seq)])
    assert time.monotonic() - started < 0.05, "five sends of 50 ms each were not waited for"
    assert publisher.wait(5)
    sent = [message["seq"] for group, message in layer.sent if group.startswith("user_tasks.status.")]
    assert sent == sorted(sent)
    assert sent[-1] == 5
    assert len(sent) < 5


def test_a_burst_keeps_the_newest_state_of_every_status(layer: FlakyLayer):
    """A producer faster than the layer: the backlog shrinks to one event per status, and a finished
    state published before the burst is never dropped for the burst's events."""
    layer.mode = "slow"
    publisher = Publisher()
    publisher.publish([event("d", 7)])
    for seq in range(1, publish.COALESCE_ABOVE * 3):
        publisher.publish([event("b", seq)])
    assert len(publisher._waiting) <= publish.COALESCE_ABOVE + 1
    assert publisher.wait(5)
    done, busy_key = event("d", 0)["uuid"], event("b", 0)["uuid"]
    sent = [(m["uuid"], m["seq"]) for group, m in layer.sent if group.startswith("user_tasks.status.")]
    assert (done, 7) in sent
    assert sent[-1] == (busy_key, publish.COALESCE_ABOVE * 3 - 1)
    busy = [seq for key, seq in sent if key == busy_key]
    assert busy == sorted(busy), "one status's events go out in order"
    assert len(sent) < 100, "the burst was coalesced, not sent event by event"


def test_events_of_one_status_are_never_sent_at_once():
    events = [event(key, seq) for seq, key in enumerate("aabcdbbe")]
    chunks = list(sending.send_chunks(events))
    assert [e for chunk in chunks for e in chunk] == events
    assert all(len({e["uuid"] for e in chunk}) == len(chunk) <= sending.SEND_CONCURRENCY for chunk in chunks)
    many = [event(str(n), 1) for n in range(sending.SEND_CONCURRENCY * 2 + 1)]
    assert [len(chunk) for chunk in sending.send_chunks(many)] == [sending.SEND_CONCURRENCY] * 2 + [1]


def test_flush_sends_what_an_outage_kept(layer: FlakyLayer, settings: Any):
    settings.USER_TASKS_PUBLISH_RETRY_AFTER = 60
    publisher = Publisher()
    publisher.publish([event("1", 1)])
    assert publisher.wait(5)
    publisher.publish([event("1", 2)])
    layer.mode = "up"
    assert publisher.flush(5)
    assert [message["seq"] for _, message in layer.sent] == [2, 2, 2], "the newest state, to its three groups"


def test_no_channel_layer_configured(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(publish, "get_channel_layer", lambda: None)
    Publisher().publish([event("1", 1)])
