"""A raw websocket client for attacking a real server, and the checks every attack ends with.

Raw on purpose: ``websockets`` (sync) sends exactly the frames a test writes, malformed ones
included, and reports the close code the server chose.
"""

from __future__ import annotations

import contextlib
import json
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from django.contrib.auth import get_user_model
from websockets import ConnectionClosed
from websockets.sync.client import ClientConnection, connect
from websockets.typing import Subprotocol

from example_site.serving import UVICORN_WEBSOCKET_OPTIONS
from tests.integration.conftest import Server, free_port, service_environment, session_cookie, spawn
from user_tasks_graphql.models import UserTaskArtifact, UserTaskStatus

TRANSPORT_WS = "graphql-transport-ws"
LEGACY_WS = "graphql-ws"
CODES = {"UNAUTHENTICATED", "NOT_FOUND", "FORBIDDEN", "BAD_USER_INPUT", "WATERMARK_EXPIRED", "INTERNAL_SERVER_ERROR"}
LEAKS = ("Traceback", "SELECT ", "psycopg", "sqlite3", 'File "/')
SERVER_FAULTS = ("Traceback", "Exception in ASGI application", "Unexpected error in a GraphQL operation")
TERMINAL = {"complete", "error"}

STATUS = "subscription($u: UUID!) { userTaskStatus(uuid: $u) { name stateText completedSteps } }"


@contextlib.contextmanager
def running_server(services: dict[str, str], directory: Path, **env: str) -> Iterator[Server]:
    """uvicorn serving the example site, as ``start_server`` starts it, for a whole test module."""
    port = free_port()
    log = directory / f"server-{port}.log"
    command = [sys.executable, "-m", "uvicorn", "example_site.asgi:application", "--host", "127.0.0.1",
               "--port", str(port), *UVICORN_WEBSOCKET_OPTIONS, "--no-access-log"]  # fmt: skip
    process = spawn(command, service_environment(services, **env), log, "Application startup complete", "uvicorn")
    server = Server(process, log, port)
    try:
        yield server
    finally:
        server.stop()


class Socket:
    """One websocket to ``server`` speaking ``protocol`` by hand; every text frame received is kept."""

    def __init__(
        self,
        server: Server,
        cookie: str | None = None,
        protocol: str = TRANSPORT_WS,
        origin: str | None = None,
        max_size: int | None = 2**20,
    ) -> None:
        headers = {"Origin": server.http if origin is None else origin}
        if not headers["Origin"]:
            del headers["Origin"]
        if cookie is not None:
            headers["Cookie"] = f"sessionid={cookie}"
        self.protocol = protocol
        self.received: list[str] = []
        self.close_reason = ""
        self.ws: ClientConnection = connect(
            server.ws,
            subprotocols=[Subprotocol(protocol)],
            additional_headers=headers,
            compression=None,
            proxy=None,
            max_size=max_size,
            open_timeout=30,
            close_timeout=5,
            ping_interval=None,
            legacy=True,
        )

    def __enter__(self) -> Socket:
        return self

    def __exit__(self, *exc: object) -> None:
        self.ws.close()

    def init(self, payload: dict[str, Any] | None = None) -> None:
        self.send({"type": "connection_init", "payload": payload or {}})
        ack = self.receive()
        assert ack["type"] == "connection_ack", ack

    def send(self, message: Any) -> None:
        self.ws.send(json.dumps(message))

    def send_raw(self, data: str | bytes) -> None:
        self.ws.send(data)

    def send_raw_fragments(self, fragments: list[str]) -> None:
        """One text message sent as one frame per fragment."""
        self.ws.send(iter(fragments))

    def receive(self, timeout: float = 15) -> dict[str, Any]:
        """The next protocol message (keep-alives skipped); ``TimeoutError`` if none comes."""
        while True:
            raw = self.ws.recv(timeout=timeout)
            assert isinstance(raw, str), f"binary frame from the server: {raw[:200]!r}"
            self.received.append(raw)
            message = json.loads(raw)
            assert isinstance(message, dict), raw[:2000]
            if message.get("type") not in ("ka", "ping", "pong"):
                return message

    def subscribe(self, op_id: str, query: str, variables: dict[str, Any] | None = None) -> None:
        kind = "subscribe" if self.protocol == TRANSPORT_WS else "start"
        self.send({"id": op_id, "type": kind, "payload": {"query": query, "variables": variables or {}}})

    def stop(self, op_id: str) -> None:
        self.send({"id": op_id, "type": "complete" if self.protocol == TRANSPORT_WS else "stop"})

    def next_payload(self, op_id: str, timeout: float = 15) -> dict[str, Any]:
        """The next result of ``op_id``: ``{"data": ...}`` and maybe ``errors``."""
        message = self.receive(timeout)
        assert message.get("id") == op_id, message
        assert message["type"] in ("next", "data"), message
        return message["payload"]

    def until_done(self, op_id: str, timeout: float = 15) -> list[dict[str, Any]]:
        """Messages up to and including ``op_id``'s ``complete`` or ``error``."""
        messages = []
        while True:
            message = self.receive(timeout)
            messages.append(message)
            if message.get("id") == op_id and message["type"] in TERMINAL:
                return messages

    def closed_with(self, timeout: float = 15, reset_allowed: bool = False) -> int | None:
        """The close code the server sent; fails if the socket stays open for ``timeout`` seconds.
        With ``reset_allowed``, None when the connection was reset before the close frame was read."""
        frame = None
        try:
            while True:
                self.receive(timeout)
        except ConnectionClosed as closed:
            frame = closed.rcvd
        except TimeoutError:
            raise AssertionError(f"the socket stayed open for {timeout} s") from None
        if frame is None and reset_allowed:
            return None
        assert frame is not None, "the server dropped the connection without a close frame"
        self.close_reason = frame.reason
        assert_clean(frame.reason)
        return frame.code

    def text(self) -> str:
        return "\n".join(self.received)


def errors_of(message: dict[str, Any]) -> list[dict[str, Any]]:
    """The GraphQL errors a message carries, in either protocol's shape."""
    if message["type"] == "error":
        payload = message["payload"]
        return payload if isinstance(payload, list) else [payload]
    if message["type"] in ("next", "data"):
        return list(message["payload"].get("errors") or [])
    return []


def codes_of(messages: list[dict[str, Any]]) -> list[str]:
    return [error.get("extensions", {}).get("code") for message in messages for error in errors_of(message)]


def assert_clean(text: str) -> None:
    """Nothing a client receives may show server internals."""
    assert not any(leak in text for leak in LEAKS), text[:2000]


def owned_tasks(owner: Any, marker: str, uuids: list[uuid.UUID] | None = None) -> list[UserTaskStatus]:
    """A group of two running tasks with an artifact each; names and artifacts carry ``marker``."""
    ids = iter(uuids or [uuid.uuid4() for _ in range(3)])
    group = UserTaskStatus.objects.create(user=owner, task_id=str(uuid.uuid4()), task_class="celery.group",
                                          is_container=True, name=f"{marker} group", total_steps=2,
                                          uuid=next(ids))  # fmt: skip
    made = [group]
    for i in range(2):
        child = UserTaskStatus.objects.create(user=owner, task_id=str(uuid.uuid4()), parent=group,
                                              task_class="demo.demo_task", name=f"{marker} {i}", total_steps=1,
                                              state="In Progress", uuid=next(ids))  # fmt: skip
        UserTaskArtifact.objects.create(status=child, text=f"{marker} artifact {i}")
        made.append(child)
    return made


def rows_of(user: Any) -> list[tuple[Any, ...]]:
    """Everything of ``user``'s tasks an attack could change."""
    statuses = UserTaskStatus.objects.filter(user=user).order_by("pk").values_list(
        "pk", "state", "state_text", "completed_steps", "total_steps", "name", "seq", "attempts")  # fmt: skip
    artifacts = UserTaskArtifact.objects.filter(status__user=user).order_by("pk").values_list("pk", "text", "name")
    return [*statuses, *artifacts]


class Health:
    """Taken before an attack; ``check`` afterwards proves the server still serves everyone else."""

    def __init__(self, server: Server) -> None:
        self.server = server
        self.log_offset = len(server.output())

    def check(self, canary_name: str = "canary") -> None:
        """A new user on a new socket gets their task's snapshot and then a live event; no fault logged."""
        assert self.server.process.poll() is None, "the server process died"
        user = get_user_model().objects.create_user(f"{canary_name}-{uuid.uuid4().hex[:8]}")
        status = UserTaskStatus.objects.create(user=user, task_id=str(uuid.uuid4()), task_class="demo.demo_task",
                                               name=f"{canary_name} task", total_steps=2,
                                               state="In Progress")  # fmt: skip
        with Socket(self.server, session_cookie(user)) as socket:
            socket.init()
            socket.subscribe("canary", STATUS, {"u": str(status.uuid)})
            snapshot = socket.next_payload("canary")
            assert snapshot == {"data": {"userTaskStatus": {
                "name": f"{canary_name} task", "stateText": "In Progress", "completedSteps": 0}}}  # fmt: skip
            status.set_state("still served")
            event = socket.next_payload("canary")
            assert event["data"]["userTaskStatus"]["stateText"] == "still served", event
        assert self.server.process.poll() is None, "the server process died"
        log = self.server.output()[self.log_offset :]
        assert not any(fault in log for fault in SERVER_FAULTS), log[-4000:]
