"""JSON that ``json.loads`` cannot turn into a usable value, sent to a real uvicorn process over both
subprotocols: nesting thousands deep, integers of thousands of digits, numbers JSON cannot carry,
lone surrogates, frames that are not text.

Before, such a message ended the socket's protocol handler with ``RecursionError`` or ``ValueError``
and left the socket open: no close, no answer, its subscriptions silent. Each attack must now close
that socket (4400 with a reason; graphql-ws sends a ``connection_error`` first), log one line saying
so, and leave another user's socket, subscribed before the attack, receiving live events.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth import get_user_model

from tests.integration.conftest import Server, session_cookie
from user_tasks_graphql.models import UserTaskStatus

from .wsclient import LEGACY_WS, STATUS, TRANSPORT_WS, Health, Socket, assert_clean, running_server

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

BOTH = [TRANSPORT_WS, LEGACY_WS]
# JSON text put where a value goes, and the reason the socket is closed with
HOSTILE = {
    "array-3000-deep": ("[" * 3000 + "]" * 3000, "Message nested deeper than 32 levels"),
    "object-3000-deep": ('{"a":' * 3000 + "1" + "}" * 3000, "Message nested deeper than 32 levels"),
    "one-over-the-depth-limit": ("[" * 30 + "]" * 30, "Message nested deeper than 32 levels"),  # 3 + 30 levels
    "int-5001-digits": ("1" * 5001, "Number with more than 4300 digits"),
    "negative-int-4301-digits": ("-" + "9" * 4301, "Number with more than 4300 digits"),
    "float-1e999999": ("1e999999", "Number out of range"),
    "float--1e999999": ("-1e999999", "Number out of range"),
    "NaN": ("NaN", "NaN is not a JSON number"),
    "Infinity": ("Infinity", "Infinity is not a JSON number"),
    "lone-surrogate": ('"\\ud800"', "String with a lone surrogate (not UTF-8)"),
    "lone-surrogate-in-a-key": ('{"\\udfff": 1}', "String with a lone surrogate (not UTF-8)"),
}


@pytest.fixture(scope="module")
def ws_server(services: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    directory: Path = tmp_path_factory.mktemp("ws-hostile")
    with running_server(services, directory) as running:
        yield running


@dataclass
class Watcher:
    """A user's socket subscribed to their running task, the snapshot already read."""

    socket: Socket
    status: UserTaskStatus

    @classmethod
    def open(cls, server: Server, name: str, protocol: str) -> Watcher:
        user = get_user_model().objects.create_user(f"{name}-{uuid.uuid4().hex[:8]}")
        status = UserTaskStatus.objects.create(user=user, task_id=str(uuid.uuid4()), task_class="demo.demo_task",
                                               name=f"{name} task", total_steps=2, state="In Progress")  # fmt: skip
        socket = Socket(server, session_cookie(user), protocol=protocol)
        socket.init()
        socket.subscribe("live", STATUS, {"u": str(status.uuid)})
        assert socket.next_payload("live")["data"]["userTaskStatus"]["stateText"] == "In Progress"
        return cls(socket, status)

    def still_live(self, text: str) -> None:
        self.status.set_state(text)
        assert self.socket.next_payload("live")["data"]["userTaskStatus"]["stateText"] == text


@dataclass
class Attack:
    """A bystander subscribed before the attack; ``verify`` runs after the attacker's socket closed."""

    server: Server
    bystander: Watcher
    health: Health
    log_offset: int

    def closes(self, attacker: Socket, code: int, reason: str) -> None:
        """The attacker's socket closes with ``code`` and ``reason`` (graphql-ws after a ``connection_error``
        for a refused message), the bystander gets a live event, and one log line says why."""
        if attacker.protocol == LEGACY_WS and code == 4400:
            error = until_connection_error(attacker)
            assert error["payload"] == {"message": reason, "extensions": {"code": "BAD_USER_INPUT"}}, error
        assert attacker.closed_with() == code
        assert attacker.close_reason == reason
        self.bystander.still_live("still served")
        log = self.server.output()[self.log_offset :]
        lines = [line for line in log.splitlines() if "Closed a websocket" in line]
        assert lines == [f"Closed a websocket with {code}: {reason!r}"], log[-4000:]
        for socket in (attacker, self.bystander.socket):
            assert_clean(socket.text())
        self.health.check()  # a new socket is served too, and the log has no traceback
        self.bystander.still_live("served after")


def until_connection_error(socket: Socket) -> dict[str, Any]:
    """graphql-ws completes the socket's operations before its ``connection_error``."""
    while True:
        message = socket.receive()
        if message["type"] == "connection_error":
            return message
        assert message["type"] == "complete", message


@pytest.fixture
def attack(ws_server: Server) -> Iterator[Attack]:
    bystander = Watcher.open(ws_server, "bystander", TRANSPORT_WS)
    with bystander.socket:
        yield Attack(ws_server, bystander, Health(ws_server), len(ws_server.output()))


def start_message(protocol: str, value: str) -> str:
    """A subscription whose variable ``u`` is the JSON text ``value``."""
    kind = "subscribe" if protocol == TRANSPORT_WS else "start"
    message = {"id": "evil", "type": kind, "payload": {"query": STATUS, "variables": {"u": "VALUE"}}}
    return json.dumps(message).replace('"VALUE"', value)


@pytest.mark.parametrize("name", list(HOSTILE))
@pytest.mark.parametrize("protocol", BOTH)
def test_hostile_variables_close_the_socket(attack: Attack, protocol: str, name: str):
    """After ``connection_init``, on a socket whose own subscription was live."""
    value, reason = HOSTILE[name]
    attacker = Watcher.open(attack.server, "mallory", protocol)
    with attacker.socket as socket:
        socket.send_raw(start_message(protocol, value))
        attack.closes(socket, 4400, reason)


@pytest.mark.parametrize("name", ["array-3000-deep", "int-5001-digits", "lone-surrogate"])
@pytest.mark.parametrize("protocol", BOTH)
def test_hostile_connection_init_closes_the_socket(attack: Attack, protocol: str, name: str):
    value, reason = HOSTILE[name]
    with Socket(attack.server, cookie=None, protocol=protocol) as socket:
        socket.send_raw('{"type": "connection_init", "payload": {"token": ' + value + "}}")
        attack.closes(socket, 4400, reason)


@pytest.mark.parametrize("frame", [b"\xff\xfe{}", b'{"type": "connection_init"}'], ids=["not-utf-8", "json"])
@pytest.mark.parametrize("protocol", BOTH)
def test_binary_frame_closes_the_socket_with_a_log_line(attack: Attack, protocol: str, frame: bytes):
    """A binary frame is refused before decoding, whatever it holds: each protocol's own close."""
    attacker = Watcher.open(attack.server, "mallory", protocol)
    with attacker.socket as socket:
        socket.send_raw(frame)
        attack.closes(socket, 4400 if protocol == TRANSPORT_WS else 1002, "WebSocket message type must be text")
