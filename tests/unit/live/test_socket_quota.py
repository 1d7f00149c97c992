"""USER_TASKS_WS_MAX_CONNECTIONS_PER_USER over both protocols: the socket over the limit is refused
with 4429 before its ack, the others keep being served, and a slot is given back however a socket
ends (client close, client gone without a close frame, server close, handler or consumer crash,
application cancelled)."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from django.contrib.auth import get_user_model
from django.core.exceptions import ImproperlyConfigured

from example_site.ws_tokens import issue_token
from user_tasks_graphql.consumers import UserTasksConsumer
from user_tasks_graphql.core import conf
from user_tasks_graphql.models import UserTaskStatus
from user_tasks_graphql.socket_quota import open_sockets

from .wsclient import LEGACY_WS, TRANSPORT_WS, GraphQLSocket, session_cookie

pytestmark = pytest.mark.django_db(transaction=True)

BOTH = [TRANSPORT_WS, LEGACY_WS]
LIMIT = 3
STATUS = "subscription($u: UUID!) { userTaskStatus(uuid: $u) { stateText } }"
REFUSAL = {"message": "Too many connections", "extensions": {"code": "FORBIDDEN"}}


@pytest.fixture(autouse=True)
def limit(settings: Any) -> None:
    settings.USER_TASKS_WS_MAX_CONNECTIONS_PER_USER = LIMIT


@pytest.fixture(params=BOTH)
def protocol(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
async def sockets() -> AsyncIterator[list[GraphQLSocket]]:
    """Every socket a test opens; those still running when it ends are disconnected, as a server would."""
    opened: list[GraphQLSocket] = []
    yield opened
    await close_all(opened)


async def close_all(sockets: list[GraphQLSocket]) -> None:
    for socket in sockets:
        if not socket.communicator.future.done():
            await socket.close()


def handlers_running() -> int:
    """Strawberry protocol handlers (one per socket, with its subscriptions) still running."""
    return sum(task.get_coro().__qualname__ == "AsyncBaseHTTPView.run" for task in asyncio.all_tasks())


async def until(condition: Callable[[], bool]) -> bool:
    """Whether ``condition`` holds within a second (cancelled tasks finish on later loop turns)."""
    for _ in range(100):
        if condition():
            return True
        await asyncio.sleep(0.01)
    return condition()


async def make_status(user: Any) -> UserTaskStatus:
    return await UserTaskStatus.objects.acreate(user=user, task_id=str(uuid.uuid4()), task_class="tests.sample",
                                                name="Export", total_steps=3)  # fmt: skip


async def open_socket(
    application: Any, sockets: list[GraphQLSocket], cookie: bytes | None, protocol: str, init: bool = True, **kw: Any
) -> GraphQLSocket:
    socket = GraphQLSocket(application, cookie, protocol=protocol)
    sockets.append(socket)
    connected, _ = await socket.connect(init=init, **kw)
    assert connected, "the handshake is accepted: refusals come at connection_init, with a code"
    return socket


async def assert_refused(socket: GraphQLSocket, payload: dict[str, Any] | None = None) -> None:
    """``connection_init`` gets no ack but the limit's refusal: graphql-ws sends its error first."""
    await socket.send({"type": "connection_init", "payload": payload or {}})
    if socket.protocol == LEGACY_WS:
        assert await socket.receive() == {"type": "connection_error", "payload": REFUSAL}
    output = await socket.communicator.receive_output(3)
    assert output == {"type": "websocket.close", "code": 4429, "reason": "Too many connections"}, output


async def assert_served(socket: GraphQLSocket, op_id: str, status: UserTaskStatus) -> None:
    await socket.subscribe(op_id, STATUS, {"u": str(status.uuid)})
    assert await socket.next_payload(op_id) == {"data": {"userTaskStatus": {"stateText": "Pending"}}}


async def test_the_socket_over_the_limit_is_refused_and_the_others_are_still_served(
    application: Any, alice: Any, bob: Any, sockets: list[GraphQLSocket], protocol: str
):
    cookie = await session_cookie(alice)
    status = await make_status(alice)
    served = [await open_socket(application, sockets, cookie, protocol) for _ in range(LIMIT)]
    over = await open_socket(application, sockets, cookie, protocol, init=False)
    await assert_refused(over)
    assert open_sockets(alice.pk) == LIMIT

    for number, socket in enumerate(served):
        await assert_served(socket, str(number), status)
    await sync_to_async(status.set_state)("still served")
    for number, socket in enumerate(served):
        payload = await socket.next_payload(str(number))
        assert payload == {"data": {"userTaskStatus": {"stateText": "still served"}}}

    bobs = await open_socket(application, sockets, await session_cookie(bob), protocol)
    await assert_served(bobs, "bob", await make_status(bob))
    assert (open_sockets(alice.pk), open_sockets(bob.pk)) == (LIMIT, 1)

    for socket in [*served, over, bobs]:
        await socket.close()
    assert (open_sockets(alice.pk), open_sockets(bob.pk)) == (0, 0)


async def test_what_a_refused_client_sends_after_its_connection_init_is_dropped(
    application: Any, alice: Any, sockets: list[GraphQLSocket], protocol: str
):
    """A subscribe sent right behind the refused connection_init reaches the handler after the close:
    it gets no second close (4401), which uvicorn would raise for inside the handler."""
    cookie = await session_cookie(alice)
    for _ in range(LIMIT):
        await open_socket(application, sockets, cookie, protocol)
    over = await open_socket(application, sockets, cookie, protocol, init=False)
    await over.send({"type": "connection_init", "payload": {}})
    await over.subscribe("1", STATUS, {"u": str(uuid.uuid4())})
    await over.send({"type": "ping"})
    if protocol == LEGACY_WS:
        assert await over.receive() == {"type": "connection_error", "payload": REFUSAL}
    assert await over.closed_with() == 4429
    assert await over.nothing_more(), "one close, and nothing sent after it"


async def client_closes(socket: GraphQLSocket) -> None:
    await socket.communicator.disconnect(code=1000)


async def client_vanishes(socket: GraphQLSocket) -> None:
    """What uvicorn delivers when the TCP connection drops without a close frame."""
    await socket.communicator.disconnect(code=1006)


async def server_closes_for_a_protocol_error(socket: GraphQLSocket) -> None:
    """A binary frame: 4400 (graphql-ws: 1002). Its client has not answered the close yet."""
    await socket.communicator.send_to(bytes_data=b"\x00binary")
    assert await socket.closed_with() == (4400 if socket.protocol == TRANSPORT_WS else 1002)


async def handler_crashes(socket: GraphQLSocket, monkeypatch: pytest.MonkeyPatch) -> None:
    """Strawberry's protocol handler dies on a message; the socket is given back when its client leaves."""

    def crash(self: Any, data: Any) -> Any:
        raise RuntimeError("a handler bug")

    monkeypatch.setattr(UserTasksConsumer, "decode_json", crash)
    await socket.send({"type": "ping"})
    await asyncio.sleep(0.1)
    with pytest.raises(RuntimeError, match="a handler bug"):
        await socket.communicator.disconnect()


async def consumer_crashes(socket: GraphQLSocket, monkeypatch: pytest.MonkeyPatch) -> None:
    """An exception out of the ASGI application itself (uvicorn then closes the socket with 1011)."""

    async def crash(self: Any, text_data: Any = None, bytes_data: Any = None) -> None:
        raise RuntimeError("a consumer bug")

    monkeypatch.setattr(UserTasksConsumer, "receive", crash)
    await socket.send({"type": "ping"})
    with pytest.raises(RuntimeError, match="a consumer bug"):
        await socket.communicator.wait(3)


async def application_cancelled(socket: GraphQLSocket) -> None:
    """The server shutting down cancels the application's task."""
    socket.communicator.future.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await socket.communicator.future


ENDINGS: dict[str, Callable[..., Awaitable[None]]] = {
    "client-closes": client_closes,
    "client-vanishes": client_vanishes,
    "server-closes": server_closes_for_a_protocol_error,
    "handler-crashes": handler_crashes,
    "consumer-crashes": consumer_crashes,
    "application-cancelled": application_cancelled,
}


@pytest.mark.parametrize("ending", list(ENDINGS))
async def test_a_socket_that_ends_gives_its_slot_back(
    application: Any,
    alice: Any,
    sockets: list[GraphQLSocket],
    protocol: str,
    ending: str,
    monkeypatch: pytest.MonkeyPatch,
):
    cookie = await session_cookie(alice)
    held = [await open_socket(application, sockets, cookie, protocol) for _ in range(LIMIT)]
    end = ENDINGS[ending]
    assert await until(lambda: handlers_running() == LIMIT)
    await (end(held[0], monkeypatch) if "crashes" in ending else end(held[0]))
    monkeypatch.undo()
    assert open_sockets(alice.pk) == LIMIT - 1, "the slot is given back"
    assert await until(lambda: handlers_running() == LIMIT - 1), f"{handlers_running()} handlers still running"

    await open_socket(application, sockets, cookie, protocol)  # takes the freed slot...
    await assert_refused(await open_socket(application, sockets, cookie, protocol, init=False))  # and only it
    await close_all(sockets)
    assert open_sockets(alice.pk) == 0
    assert await until(lambda: handlers_running() == 0)


async def test_sockets_arriving_together_take_exactly_the_limit(
    application: Any, alice: Any, sockets: list[GraphQLSocket], protocol: str, settings: Any
):
    """Each connection_init awaits (the token hook, the user lookup) before its check and increment,
    so eight of them interleave there; the check and the increment themselves have no await between."""
    settings.USER_TASKS_WS_AUTHENTICATE = "example_site.ws_tokens.websocket_user"
    cookie = await session_cookie(alice)
    arriving = [await open_socket(application, sockets, cookie, protocol, init=False) for _ in range(8)]
    await asyncio.gather(*(socket.send({"type": "connection_init", "payload": {}}) for socket in arriving))
    answers = await asyncio.gather(*(socket.communicator.receive_output(3) for socket in arriving))
    kinds = sorted("ack" if "connection_ack" in str(answer) else str(answer.get("code", "error")) for answer in answers)
    refused = "4429" if protocol == TRANSPORT_WS else "error"  # graphql-ws: connection_error, then the close
    assert kinds == sorted(["ack"] * LIMIT + [refused] * (8 - LIMIT))
    assert open_sockets(alice.pk) == LIMIT


async def test_the_token_user_is_counted_and_anonymous_sockets_are_not(
    application: Any, alice: Any, bob: Any, sockets: list[GraphQLSocket], protocol: str, settings: Any
):
    settings.USER_TASKS_WS_AUTHENTICATE = "example_site.ws_tokens.websocket_user"
    for _ in range(LIMIT):
        await open_socket(application, sockets, await session_cookie(alice), protocol)
    # bob's session, alice's token: the hook's user is the one counted
    over = await open_socket(application, sockets, await session_cookie(bob), protocol, init=False)
    await assert_refused(over, {"token": issue_token(alice)})
    for _ in range(LIMIT + 2):
        await open_socket(application, sockets, None, protocol)  # anonymous: accepted, not counted
    assert (open_sockets(alice.pk), open_sockets(bob.pk)) == (LIMIT, 0)


async def test_a_second_connection_init_on_graphql_ws_keeps_one_slot(
    application: Any, alice: Any, sockets: list[GraphQLSocket], settings: Any
):
    settings.USER_TASKS_WS_MAX_CONNECTIONS_PER_USER = 2
    cookie = await session_cookie(alice)
    socket = await open_socket(application, sockets, cookie, LEGACY_WS)
    await socket.send({"type": "connection_init", "payload": {}})
    assert await socket.receive() == {"type": "connection_ack"}
    assert open_sockets(alice.pk) == 1
    await open_socket(application, sockets, cookie, LEGACY_WS)
    await assert_refused(await open_socket(application, sockets, cookie, LEGACY_WS, init=False))


async def test_an_inactive_user_is_not_counted(application: Any, sockets: list[GraphQLSocket], settings: Any):
    """Like anonymous users, inactive ones get UNAUTHENTICATED for every operation (a token hook may return one)."""
    settings.USER_TASKS_WS_AUTHENTICATE = "example_site.ws_tokens.websocket_user"
    inactive = await sync_to_async(get_user_model().objects.create_user)("gone", is_active=False)
    for _ in range(LIMIT + 1):
        await open_socket(application, sockets, None, TRANSPORT_WS, payload={"token": issue_token(inactive)})
    assert open_sockets(inactive.pk) == 0


@pytest.mark.parametrize("value", [None, 1, 500])
def test_the_limit_may_be_any_positive_integer_or_none(settings: Any, value: Any):
    settings.USER_TASKS_WS_MAX_CONNECTIONS_PER_USER = value
    assert conf.ws_max_connections_per_user() == value


def test_the_default_limit_is_50(settings: Any):
    del settings.USER_TASKS_WS_MAX_CONNECTIONS_PER_USER
    assert conf.ws_max_connections_per_user() == 50


@pytest.mark.parametrize("value", [0, -1, True, "50", 2.5])
def test_a_bad_limit_is_refused(settings: Any, value: Any):
    settings.USER_TASKS_WS_MAX_CONNECTIONS_PER_USER = value
    with pytest.raises(ImproperlyConfigured, match="USER_TASKS_WS_MAX_CONNECTIONS_PER_USER"):
        conf.ws_max_connections_per_user()


async def test_no_limit_with_none(application: Any, alice: Any, sockets: list[GraphQLSocket], settings: Any):
    settings.USER_TASKS_WS_MAX_CONNECTIONS_PER_USER = None
    cookie = await session_cookie(alice)
    for _ in range(LIMIT + 2):
        await open_socket(application, sockets, cookie, TRANSPORT_WS)
    assert open_sockets(alice.pk) == LIMIT + 2
