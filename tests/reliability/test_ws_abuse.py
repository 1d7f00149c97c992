"""Protocol abuse against the websocket of a real uvicorn process, over both subprotocols.

Every attack ends with the same proof: the exact close code or coded error, nothing internal in any
frame, the victim's rows unchanged, and a new user on a new socket still served (snapshot and live
event) by a server process that is still alive and logged no fault.
"""

from __future__ import annotations

import contextlib
import datetime
import json
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.contrib.sessions.models import Session
from django.core import signing
from django.utils import timezone
from websockets import ConnectionClosed, InvalidStatus

from example_site.ws_tokens import issue_token
from tests.integration.conftest import Server, session_cookie
from user_tasks_graphql.models import UserTaskStatus

from .wsclient import (
    CODES,
    LEGACY_WS,
    STATUS,
    TRANSPORT_WS,
    Health,
    Socket,
    assert_clean,
    codes_of,
    owned_tasks,
    rows_of,
    running_server,
)

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

BOTH = [TRANSPORT_WS, LEGACY_WS]
INIT_TIMEOUT = 2.0
MARKER = "VICTIM-PRIVATE"
LIST = "subscription { userTaskStatuses { name } }"
UVICORN_MAX_MESSAGE = 16 * 1024 * 1024  # uvicorn's default --ws-max-size


@pytest.fixture(scope="module")
def ws_server(services: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """One server for the module, with a short ``connection_init`` timeout and the token hook."""
    directory: Path = tmp_path_factory.mktemp("ws-abuse")
    with running_server(
        services,
        directory,
        TEST_USER_TASKS_WS_INIT_TIMEOUT=str(INIT_TIMEOUT),
        TEST_USER_TASKS_WS_AUTHENTICATE="example_site.ws_tokens.websocket_user",
    ) as running:
        yield running


@dataclass
class Scene:
    """A victim with tasks, an attacker with a session, and what must hold after the attack."""

    server: Server
    victim: Any
    attacker: Any
    attacker_cookie: str
    tasks: list[UserTaskStatus]
    before: list[tuple[Any, ...]] = field(default_factory=list)
    health: Health | None = None

    def socket(self, protocol: str = TRANSPORT_WS, **kwargs: Any) -> Socket:
        kwargs.setdefault("cookie", self.attacker_cookie)
        return Socket(self.server, protocol=protocol, **kwargs)

    def verify(self, *sockets: Socket) -> None:
        for socket in sockets:
            assert_clean(socket.text())
            assert MARKER not in socket.text(), socket.text()[:2000]
        assert rows_of(self.victim) == self.before, "the victim's tasks changed"
        assert self.health is not None
        self.health.check()


@pytest.fixture
def scene(ws_server: Server) -> Scene:
    users = get_user_model().objects
    victim, attacker = users.create_user("victim"), users.create_user("mallory")
    made = Scene(ws_server, victim, attacker, session_cookie(attacker), owned_tasks(victim, MARKER))
    made.before = rows_of(victim)
    made.health = Health(ws_server)
    return made


def still_answers(socket: Socket, op_id: str = "after") -> None:
    """The socket survived what came before: a fresh operation on it gets its coded answer."""
    socket.subscribe(op_id, STATUS, {"u": str(uuid.uuid4())})
    messages = socket.until_done(op_id)
    assert codes_of(messages) == ["NOT_FOUND"], messages


# ---- frames ------------------------------------------------------------------------------------


@pytest.mark.parametrize("protocol", BOTH)
@pytest.mark.parametrize("initialised", [False, True], ids=["before-init", "after-init"])
def test_binary_frame_closes_the_socket(scene: Scene, protocol: str, initialised: bool):
    with scene.socket(protocol) as socket:
        if initialised:
            socket.init()
        socket.send_raw(b"\x00\x81binary\xff")
        assert socket.closed_with() == (4400 if protocol == TRANSPORT_WS else 1002)
    scene.verify(socket)


@pytest.mark.parametrize("protocol", BOTH)
def test_message_over_uvicorns_size_limit_closes_1009(scene: Scene, protocol: str):
    """17 MiB of text in 1 MiB fragments: uvicorn closes with 1009 before the application sees any
    of it. It closes the TCP connection right after its close frame, so the megabytes the client is
    still sending may turn the close into a reset that discards the frame on the client's side."""
    fragment = "x" * 2**20
    with scene.socket(protocol) as socket:
        socket.init()
        with contextlib.suppress(ConnectionClosed):  # the server closes before the last fragments
            socket.send_raw_fragments([fragment] * (UVICORN_MAX_MESSAGE // len(fragment) + 1))
        assert socket.closed_with(reset_allowed=True) in (1009, None)
    scene.verify(socket)


@pytest.mark.parametrize("protocol", BOTH)
@pytest.mark.parametrize("size", [65 * 1024, 8_000_000])
def test_messages_over_64_kib_close_1009_before_parsing(scene: Scene, protocol: str, size: int):
    """``USER_TASKS_WS_MAX_MESSAGE_BYTES`` (64 KiB): parsing megabytes on the event loop would stall
    every other socket of the process."""
    with scene.socket(protocol, max_size=None) as socket:
        socket.init()
        socket.send_raw("{" + "x" * size)
        assert socket.closed_with() == 1009
        assert socket.close_reason == "Messages are limited to 65536 bytes"
    scene.verify(socket)


@pytest.mark.parametrize("protocol", BOTH)
def test_invalid_json(scene: Scene, protocol: str):
    """Text that is not JSON: graphql-transport-ws closes 4400; legacy graphql-ws ignores it."""
    with scene.socket(protocol) as socket:
        socket.init()
        socket.send_raw("{" + "x" * 60_000)
        if protocol == TRANSPORT_WS:
            assert socket.closed_with() == 4400
            assert socket.close_reason == "WebSocket message must be valid JSON"
        else:
            still_answers(socket)
    scene.verify(socket)


MALFORMED = {
    "json-list": [1, 2],
    "json-null": None,
    "json-string": "subscribe",
    "json-number": 7,
    "no-type": {"id": "1"},
    "type-not-a-string": {"type": ["subscribe"]},
    "payload-not-an-object": {"id": "1", "type": "subscribe", "payload": "{ __typename }"},
    "payload-without-query": {"id": "1", "type": "subscribe", "payload": {}},
    "query-not-a-string": {"id": "1", "type": "subscribe", "payload": {"query": 7}},
    "operation-name-not-a-string": {"id": "1", "type": "subscribe", "payload": {"query": LIST, "operationName": 7}},
    "id-an-object": {"id": {"a": 1}, "type": "subscribe", "payload": {"query": LIST}},
    "id-a-list": {"id": [1], "type": "subscribe", "payload": {"query": LIST}},
}


@pytest.mark.parametrize("protocol", BOTH)
@pytest.mark.parametrize("name", list(MALFORMED))
def test_malformed_messages(scene: Scene, protocol: str, name: str):
    """JSON that is not a protocol message: graphql-transport-ws closes 4400 (its spec: "a message of a
    type or format which is not specified"); legacy graphql-ws ignores it (as it ignores invalid JSON)
    or answers with a coded error, and keeps serving the socket. Never a silently dead socket."""
    message = MALFORMED[name]
    if protocol == LEGACY_WS and isinstance(message, dict) and message.get("type") == "subscribe":
        message = {**message, "type": "start"}
    with scene.socket(protocol) as socket:
        socket.init()
        socket.send(message)
        if protocol == TRANSPORT_WS:
            assert socket.closed_with(timeout=5) == 4400
        else:
            socket.subscribe("after", STATUS, {"u": str(uuid.uuid4())})
            messages = socket.until_done("after", timeout=5)
            codes = codes_of(messages)
            assert codes[-1:] == ["NOT_FOUND"], messages
            assert set(codes) <= CODES - {"INTERNAL_SERVER_ERROR"}, messages
    scene.verify(socket)


# ---- documents ---------------------------------------------------------------------------------


@pytest.mark.parametrize("protocol", BOTH)
def test_document_over_the_token_limit(scene: Scene, protocol: str):
    """A valid 5,000-token document (under the message size limit): parsing stops at 2,000 tokens."""
    document = "subscription { " + "__typename " * 5_000 + "}"
    with scene.socket(protocol, max_size=None) as socket:
        socket.init()
        socket.subscribe("big", document)
        if protocol == TRANSPORT_WS:  # a syntax error: the protocol closes the socket
            assert socket.closed_with() == 4400
            assert "more than 2000 tokens" in socket.close_reason
        else:
            messages = socket.until_done("big")
            assert codes_of(messages) == ["BAD_USER_INPUT"], messages
            assert "more than 2000 tokens" in messages[-1]["payload"]["message"]
            still_answers(socket)
    scene.verify(socket)


def test_long_string_literal(scene: Scene):
    """One 60 KB token is within every limit: it is parsed, refused with a coded error, and the
    socket keeps working."""
    document = 'subscription { userTaskStatus(uuid: "' + "a" * 60_000 + '") { name } }'
    with scene.socket(max_size=None) as socket:
        socket.init()
        socket.subscribe("big", document)
        messages = socket.until_done("big", timeout=60)
        assert codes_of(messages) == ["BAD_USER_INPUT"], [str(m)[:300] for m in messages]
        still_answers(socket)
    scene.verify(socket)


# ---- protocol state ----------------------------------------------------------------------------


@pytest.mark.parametrize("protocol", BOTH)
def test_no_connection_init_closes_4408(scene: Scene, protocol: str):
    """docs/api.md: ``connection_init`` within ``USER_TASKS_WS_INIT_TIMEOUT``, whichever the protocol."""
    with scene.socket(protocol) as socket:
        assert socket.closed_with(timeout=INIT_TIMEOUT + 10) == 4408
    scene.verify(socket)


def test_second_connection_init_closes_4429(scene: Scene):
    with scene.socket() as socket:
        socket.init()
        socket.send({"type": "connection_init"})
        assert socket.closed_with() == 4429
    scene.verify(socket)


@pytest.mark.parametrize("protocol", BOTH)
def test_subscribe_before_ack_closes_4401(scene: Scene, protocol: str):
    with scene.socket(protocol) as socket:
        socket.subscribe("1", STATUS, {"u": str(scene.tasks[1].uuid)})
        assert socket.closed_with() == 4401
    scene.verify(socket)


def test_duplicate_id_closes_4409(scene: Scene):
    with scene.socket() as socket:
        socket.init()
        socket.subscribe("same", LIST)
        socket.subscribe("same", LIST)
        assert socket.closed_with() == 4409
    scene.verify(socket)


def test_duplicate_id_on_legacy_replaces_the_operation(scene: Scene):
    """graphql-ws has no 4409: the earlier operation is completed and the new one runs."""
    with scene.socket(LEGACY_WS) as socket:
        socket.init()
        socket.subscribe("same", LIST)
        socket.subscribe("same", STATUS, {"u": str(uuid.uuid4())})
        messages = socket.until_done("same")
        assert messages == [{"type": "complete", "id": "same"}], messages
        messages = socket.until_done("same")
        assert codes_of(messages) == ["NOT_FOUND"], messages
    scene.verify(socket)


@pytest.mark.parametrize(
    "frame", [json.dumps({"type": "no-such-type"}), "{not json"], ids=["unknown-type", "invalid-json"]
)
@pytest.mark.parametrize("protocol", BOTH)
def test_unknown_message_or_invalid_json(scene: Scene, protocol: str, frame: str):
    """graphql-transport-ws closes 4400; legacy graphql-ws ignores the message."""
    with scene.socket(protocol) as socket:
        socket.init()
        socket.send_raw(frame)
        if protocol == TRANSPORT_WS:
            assert socket.closed_with() == 4400
        else:
            still_answers(socket)
    scene.verify(socket)


@pytest.mark.parametrize("protocol", BOTH)
def test_21st_operation_is_refused_and_the_first_20_keep_working(scene: Scene, protocol: str):
    """The refusal carries the contract's code (docs/api.md: every error has ``extensions.code``)."""
    with scene.socket(protocol) as socket:
        socket.init()
        for n in range(20):
            socket.subscribe(f"s{n}", LIST)
        socket.subscribe("s20", LIST)
        refused = socket.receive()
        assert (refused["id"], refused["type"]) == ("s20", "error"), refused
        assert "limit" in json.dumps(refused["payload"]).lower()
        assert codes_of([refused]) == ["BAD_USER_INPUT"], refused
        # the 20 join their groups in the background: publish new tasks until each one has heard
        heard: dict[str, set[str]] = {f"s{n}": set() for n in range(20)}
        published: list[str] = []
        deadline = time.monotonic() + 30
        while not all(heard.values()):
            assert time.monotonic() < deadline, f"silent subscriptions: {[k for k, v in heard.items() if not v]}"
            published.append(f"news {len(published)}")
            UserTaskStatus.objects.create(user=scene.attacker, task_id=str(uuid.uuid4()), task_class="demo.demo_task",
                                          name=published[-1], total_steps=1)  # fmt: skip
            with contextlib.suppress(TimeoutError):
                while True:
                    message = socket.receive(timeout=0.5)
                    assert message["type"] in ("next", "data"), message
                    heard[message["id"]].add(message["payload"]["data"]["userTaskStatuses"]["name"])
        assert set().union(*heard.values()) <= set(published)
    scene.verify(socket)


# ---- who is connecting -------------------------------------------------------------------------


@pytest.mark.parametrize("protocol", BOTH)
@pytest.mark.parametrize("origin", ["http://evil.example", "null", ""], ids=["foreign", "null", "absent"])
def test_foreign_origin_is_refused_at_the_handshake(scene: Scene, protocol: str, origin: str):
    with pytest.raises(InvalidStatus) as refused:
        scene.socket(protocol, origin=origin)
    assert refused.value.response.status_code == 403
    scene.verify()


def anonymous_answers(socket: Socket, victim_task: UserTaskStatus) -> list[dict[str, Any]]:
    """What a socket without a user gets for the victim's task, one operation at a time."""
    socket.init()
    socket.subscribe("one", STATUS, {"u": str(victim_task.uuid)})
    one = socket.until_done("one")
    socket.subscribe("list", LIST)
    every = socket.until_done("list")
    return one + every


@pytest.mark.parametrize("protocol", BOTH)
def test_expired_session_of_the_owner_is_anonymous(scene: Scene, protocol: str):
    cookie = session_cookie(scene.victim)
    expired = timezone.now() - datetime.timedelta(seconds=1)
    assert Session.objects.filter(session_key=cookie).update(expire_date=expired) == 1
    with scene.socket(protocol, cookie=cookie) as socket:
        messages = anonymous_answers(socket, scene.tasks[1])
        assert codes_of(messages) == ["UNAUTHENTICATED", "UNAUTHENTICATED"], messages
        if protocol == TRANSPORT_WS:  # queries are allowed over graphql-transport-ws
            socket.subscribe(
                "q", "query($u: UUID!) { userTaskStatus(uuid: $u) { name } }", {"u": str(scene.tasks[1].uuid)}
            )
            messages = socket.until_done("q")
            assert codes_of(messages) == ["UNAUTHENTICATED"], messages
    scene.verify(socket)


@pytest.mark.parametrize(
    "cookie", ["garbage", "", "x" * 4000, '";\\;,=', "sessionid"], ids=["garbage", "empty", "long", "quotes", "name"]
)
def test_garbage_session_cookie_is_anonymous(scene: Scene, cookie: str):
    with scene.socket(cookie=cookie) as socket:
        messages = anonymous_answers(socket, scene.tasks[1])
        assert codes_of(messages) == ["UNAUTHENTICATED", "UNAUTHENTICATED"], messages
    scene.verify(socket)


def test_valid_token_authenticates(scene: Scene):
    """The control for the forged tokens: the hook is configured, and a good token is a login."""
    with scene.socket(cookie=None) as socket:
        socket.init({"token": issue_token(scene.attacker)})
        still_answers(socket)  # NOT_FOUND, not UNAUTHENTICATED
    scene.verify(socket)


@pytest.mark.parametrize(
    "token", ["forged", "other-salt", 7, {"user": 1}, ["x"]], ids=["forged", "other-salt", "number", "object", "list"]
)
def test_token_that_does_not_verify_closes_4403(scene: Scene, token: Any):
    if token == "other-salt":  # a real signature of the victim's id, made for another purpose
        token = signing.dumps(scene.victim.pk, salt="some-other-purpose")
    with scene.socket(cookie=None) as socket:
        socket.send({"type": "connection_init", "payload": {"token": token}})
        assert socket.closed_with(timeout=5) == 4403
    scene.verify(socket)


def test_forged_token_on_legacy_gets_connection_error(scene: Scene):
    """graphql-ws has no 4403: a ``connection_error``, then the socket closes (1011)."""
    with scene.socket(LEGACY_WS, cookie=None) as socket:
        socket.send({"type": "connection_init", "payload": {"token": "forged"}})
        assert socket.receive()["type"] == "connection_error"
        assert socket.closed_with() == 1011
    scene.verify(socket)
