"""A channel layer that fails or hangs never fails or stalls a task, and events are not lost."""

import asyncio
import logging
import time
from typing import Any

import pytest

from user_tasks_graphql import publish
from user_tasks_graphql.publish import Publisher


class FlakyLayer:
    def __init__(self) -> None:
        self.mode = "down"
        self.sent: list[tuple[str, dict]] = []

    async def group_send(self, group: str, message: dict) -> None:
        if self.mode == "down":
            raise ConnectionError("Connection refused")
        if self.mode == "hang":
            await asyncio.sleep(30)
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
    with caplog.at_level(logging.WARNING, logger="user_tasks_graphql.publish"):
        for seq in range(1, 51):
            publisher.publish([event("1", seq)])
        publisher.publish([event("2", 1)])
        assert [r.message for r in caplog.records].count(caplog.records[0].message) == 1
        assert "not being published" in caplog.records[0].message
        layer.mode = "up"
        time.sleep(0.25)
        publisher.publish([])
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


def test_no_channel_layer_configured(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(publish, "get_channel_layer", lambda: None)
    Publisher().publish([event("1", 1)])
