"""Websocket messages that decode to nothing the app can hold: the decoder refuses them, and the
consumer closes that socket (4400; graphql-ws: a ``connection_error`` first) with one log line,
while another user's socket keeps its live updates."""

from __future__ import annotations

import json
import logging
import sys
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from django.contrib.auth import get_user_model

from tests.unit.live.wsclient import LEGACY_WS, TRANSPORT_WS, GraphQLSocket, session_cookie
from user_tasks_graphql.json_decoding import MAX_INT_DIGITS, RefusedMessage, decode
from user_tasks_graphql.models import UserTaskStatus

BOTH = [TRANSPORT_WS, LEGACY_WS]
STATUS = "subscription($u: UUID!) { userTaskStatus(uuid: $u) { stateText } }"
HOSTILE = {  # JSON text put where a variable's value goes
    "array-3000-deep": "[" * 3000 + "]" * 3000,
    "object-3000-deep": '{"a":' * 3000 + "1" + "}" * 3000,
    "one-over-the-depth-limit": "[" * 31 + "]" * 31,  # 2 or 3 levels of message around it: 33 or 34
    "int-5001-digits": "1" * 5001,
    "negative-int-4301-digits": "-" + "9" * 4301,
    "float-1e999999": "1e999999",
    "float--1e999999": "-1e999999",
    "NaN": "NaN",
    "Infinity": "-Infinity",
    "lone-surrogate": '"\\ud800"',
    "lone-surrogate-in-a-key": '{"\\udfff": 1}',
}


# ---- the decoder -------------------------------------------------------------------------------


@pytest.mark.parametrize("name", list(HOSTILE))
def test_hostile_json_is_refused_with_a_short_reason(name: str):
    with pytest.raises(RefusedMessage) as refused:
        decode('{"variables": {"u": ' + HOSTILE[name] + "}}", max_depth=32)
    assert 0 < len(refused.value.reason.encode()) <= 123, "a close frame's reason holds 123 bytes"


@pytest.mark.parametrize(
    "text",
    [
        "[" * 32 + "]" * 32,
        '"[[[[{{{{' + "[" * 40 + '"',  # brackets in a string are no nesting
        '["\\"' + "{" * 40 + '\\\\", "]]", {"[": "}"}]',  # nor after an escaped quote or backslash
        "9" * MAX_INT_DIGITS,
        "-1.5e308",
        "1e-999999",
        '"\\ud83d\\ude00 \\\\ud800"',  # a surrogate pair is one character; an escaped backslash no escape
        '{"\u00e9t\u00e9": "\u20ac"}',
    ],
)
def test_json_within_the_limits_decodes_as_json_loads_does(text: str):
    assert decode(text, max_depth=32) == json.loads(text)
    assert decode(text.encode(), max_depth=32) == json.loads(text)


def test_nesting_one_level_over_the_limit_is_refused():
    with pytest.raises(RefusedMessage, match="deeper than 4 levels"):
        decode("[[[[{}]]]]", max_depth=4)
    assert decode("[[[[{}]]]]", max_depth=5) == [[[[{}]]]]


@pytest.mark.parametrize("text", ["{not json", "", "[1,]", '{"a": 1'])
def test_text_that_is_not_json_raises_json_decode_error(text: str):
    """Not a refusal: each protocol keeps its own rule for it (graphql-ws ignores it)."""
    with pytest.raises(json.JSONDecodeError):
        decode(text, max_depth=32)


@pytest.mark.parametrize("data", [b'{"a": "\xff"}', '{"a": "\ud800"}'], ids=["bytes-not-utf-8", "raw-surrogate"])
def test_text_that_is_not_utf_8_is_refused(data: str | bytes):
    with pytest.raises(RefusedMessage, match="UTF-8"):
        decode(data, max_depth=32)


@pytest.fixture
def int_digits(request: pytest.FixtureRequest) -> Iterator[None]:
    saved = sys.get_int_max_str_digits()
    sys.set_int_max_str_digits(request.param)
    yield
    sys.set_int_max_str_digits(saved)


@pytest.mark.parametrize("int_digits", [0], indirect=True)
@pytest.mark.usefixtures("int_digits")
def test_the_digit_limit_holds_when_the_interpreter_has_none():
    """``sys.set_int_max_str_digits(0)`` in a host project must not let a 60,000-digit integer through."""
    with pytest.raises(RefusedMessage, match=f"more than {MAX_INT_DIGITS} digits"):
        decode("1" * 60_000, max_depth=32)


@pytest.mark.parametrize("int_digits", [640], indirect=True)
@pytest.mark.usefixtures("int_digits")
def test_a_lower_interpreter_digit_limit_is_a_refusal_too():
    with pytest.raises(RefusedMessage, match="too many digits"):
        decode("1" * 4_000, max_depth=32)


# ---- the consumer ------------------------------------------------------------------------------


@pytest.fixture
def application() -> Any:
    from example_site.asgi import application

    return application


async def make_user(name: str) -> Any:
    return await sync_to_async(get_user_model().objects.create_user)(name)


async def watching(application: Any, protocol: str, name: str) -> tuple[GraphQLSocket, UserTaskStatus]:
    """A user's socket with a live subscription to their running task, its snapshot read."""
    user = await make_user(name)
    fields = {"task_id": str(uuid.uuid4()), "task_class": "tests.sample", "name": "Export", "total_steps": 2}
    status = await UserTaskStatus.objects.acreate(user=user, state="In Progress", **fields)
    socket = GraphQLSocket(application, await session_cookie(user), protocol=protocol)
    await socket.connect()
    await socket.subscribe("live", STATUS, {"u": str(status.uuid)})
    assert (await socket.next_payload("live"))["data"]["userTaskStatus"]["stateText"] == "In Progress"
    return socket, status


async def still_live(socket: GraphQLSocket, status: UserTaskStatus, text: str) -> None:
    await sync_to_async(status.set_state)(text)
    assert (await socket.next_payload("live"))["data"]["userTaskStatus"]["stateText"] == text


def hostile_start(protocol: str, hostile: str) -> str:
    kind = "subscribe" if protocol == TRANSPORT_WS else "start"
    message = {"id": "evil", "type": kind, "payload": {"query": STATUS, "variables": {"u": "HOSTILE"}}}
    return json.dumps(message).replace('"HOSTILE"', hostile)


def refusals(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "user_tasks_graphql.consumers"]


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("name", list(HOSTILE))
@pytest.mark.parametrize("protocol", BOTH)
async def test_hostile_message_closes_its_socket_4400_and_no_other(
    application: Any, protocol: str, name: str, caplog: pytest.LogCaptureFixture, settings: Any
):
    settings.USER_TASKS_PROGRESS_INTERVAL = 0
    caplog.set_level(logging.INFO, logger="user_tasks_graphql.consumers")
    bystander, bystanders_task = await watching(application, TRANSPORT_WS, "bystander")
    attacker, _ = await watching(application, protocol, "mallory")

    await attacker.communicator.send_to(text_data=hostile_start(protocol, HOSTILE[name]))
    if protocol == LEGACY_WS:  # the socket's operations complete, then the connection's error
        assert await attacker.receive() == {"type": "complete", "id": "live"}
        error = await attacker.receive()
        assert error["type"] == "connection_error", error
        assert error["payload"]["extensions"] == {"code": "BAD_USER_INPUT"}, error
    assert await attacker.closed_with() == 4400

    [line] = refusals(caplog)
    assert line.startswith("Closed a websocket with 4400: "), line
    assert "Traceback" not in caplog.text
    await still_live(bystander, bystanders_task, "still served")
    await bystander.close()
    await attacker.close()


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("protocol", BOTH)
async def test_raw_lone_surrogate_closes_4400(application: Any, protocol: str):
    """A text frame no server would pass on (uvicorn refuses invalid UTF-8), if one ever did."""
    socket = GraphQLSocket(application, await session_cookie(await make_user("mallory")), protocol=protocol)
    await socket.connect()
    await socket.communicator.send_to(text_data='{"type": "connection_init", "payload": {"a": "\ud800"}}')
    if protocol == LEGACY_WS:
        assert (await socket.receive())["type"] == "connection_error"
    assert await socket.closed_with() == 4400
    await socket.close()


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("protocol", BOTH)
async def test_binary_frame_close_is_logged(application: Any, protocol: str, caplog: pytest.LogCaptureFixture):
    """Each protocol's own close for a frame that is not text, with one line saying why."""
    caplog.set_level(logging.INFO, logger="user_tasks_graphql.consumers")
    socket = GraphQLSocket(application, await session_cookie(await make_user("mallory")), protocol=protocol)
    await socket.connect()
    await socket.communicator.send_to(bytes_data=b"\x00\x81binary\xff")
    code = 4400 if protocol == TRANSPORT_WS else 1002
    assert await socket.closed_with() == code
    assert refusals(caplog) == [f"Closed a websocket with {code}: 'WebSocket message type must be text'"]
    await socket.close()


@pytest.mark.django_db(transaction=True)
async def test_the_depth_limit_is_the_setting(application: Any, settings: Any):
    """``USER_TASKS_WS_MAX_MESSAGE_DEPTH`` read at each message: 43 levels pass under a limit of 48 (the
    variable is then refused by GraphQL, not the socket), 49 close the socket."""
    settings.USER_TASKS_WS_MAX_MESSAGE_DEPTH = 48
    socket = GraphQLSocket(application, await session_cookie(await make_user("deep")))
    await socket.connect()
    await socket.communicator.send_to(text_data=hostile_start(TRANSPORT_WS, "[" * 40 + "]" * 40))
    message = await socket.receive()
    assert (message["id"], message["type"]) == ("evil", "error"), message
    await socket.communicator.send_to(text_data=hostile_start(TRANSPORT_WS, "[" * 46 + "]" * 46))
    assert await socket.closed_with() == 4400
    await socket.close()
