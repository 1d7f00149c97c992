"""Protocol behaviour and limits on the websocket: close codes, subscription cap, token auth."""

import logging
from typing import Any

import pytest

from example_site.ws_tokens import issue_token
from user_tasks_graphql.routing import websocket_application
from user_tasks_graphql.schema import schema

from .wsclient import GraphQLSocket, session_cookie

pytestmark = pytest.mark.django_db(transaction=True)

SUB = "subscription { userTaskStatuses { name } }"


async def test_subscribe_before_ack_closes_4401(application: Any, alice: Any):
    socket = GraphQLSocket(application, await session_cookie(alice))
    await socket.connect(init=False)
    await socket.subscribe("1", SUB)
    assert await socket.closed_with() == 4401


async def test_second_connection_init_closes_4429(application: Any, alice: Any):
    socket = GraphQLSocket(application, await session_cookie(alice))
    await socket.connect()
    await socket.send({"type": "connection_init"})
    assert await socket.closed_with() == 4429


async def test_duplicate_operation_id_closes_4409(application: Any, alice: Any):
    socket = GraphQLSocket(application, await session_cookie(alice))
    await socket.connect()
    await socket.subscribe("1", SUB)
    await socket.subscribe("1", SUB)
    assert await socket.closed_with() == 4409


@pytest.mark.parametrize("message", [{"type": "no-such-type"}, {"id": "1", "type": "subscribe"}])
async def test_invalid_messages_close_4400(application: Any, alice: Any, message: dict):
    socket = GraphQLSocket(application, await session_cookie(alice))
    await socket.connect()
    await socket.send(message)
    assert await socket.closed_with() == 4400


@pytest.mark.parametrize("document", ["subscription { userTaskStatuses(filters: { oops }) { name } }", "{" * 3])
async def test_a_syntax_error_closes_4400(application: Any, alice: Any, document: str):
    """The protocol's rule for a document that does not parse (a cached parser once skipped it)."""
    socket = GraphQLSocket(application, await session_cookie(alice))
    await socket.connect()
    await socket.subscribe("1", document)
    assert await socket.closed_with() == 4400


async def test_no_connection_init_closes_4408(alice: Any, settings: Any):
    settings.USER_TASKS_WS_INIT_TIMEOUT = 0.2
    socket = GraphQLSocket(websocket_application(schema), await session_cookie(alice))
    await socket.connect(init=False)
    assert await socket.closed_with(timeout=3) == 4408


async def test_subscription_cap(alice: Any, settings: Any):
    settings.USER_TASKS_WS_MAX_SUBSCRIPTIONS = 3
    socket = GraphQLSocket(websocket_application(schema), await session_cookie(alice))
    await socket.connect()
    for op_id in range(3):
        await socket.subscribe(str(op_id), SUB)
    await socket.subscribe("over", SUB)
    message = await socket.receive()
    assert message["id"] == "over"
    assert message["type"] == "error"
    assert "limit" in str(message["payload"]).lower()
    await socket.close()


async def test_depth_limit_applies_to_subscriptions(application: Any, alice: Any):
    socket = GraphQLSocket(application, await session_cookie(alice))
    await socket.connect()
    nested = "parent { " * 12 + "name" + " }" * 12
    await socket.subscribe("1", f"subscription {{ userTaskStatuses {{ {nested} }} }}")
    message = await socket.receive()
    errors = message["payload"] if message["type"] == "error" else message["payload"]["errors"]
    assert "depth" in str(errors)
    await socket.close()


async def test_token_in_connection_init_authenticates(alice: Any, settings: Any):
    settings.USER_TASKS_WS_AUTHENTICATE = "example_site.ws_tokens.websocket_user"
    socket = GraphQLSocket(websocket_application(schema), cookie=None)
    await socket.connect(payload={"token": issue_token(alice)})
    await socket.subscribe(
        "1", 'subscription { userTaskStatus(uuid: "00000000-0000-0000-0000-000000000000") { name } }'
    )
    payload = await socket.next_payload("1")
    assert [e["extensions"]["code"] for e in payload["errors"]] == ["NOT_FOUND"], (
        "authenticated, so not UNAUTHENTICATED"
    )
    await socket.close()


async def test_bad_token_closes_4403(alice: Any, settings: Any):
    settings.USER_TASKS_WS_AUTHENTICATE = "example_site.ws_tokens.websocket_user"
    socket = GraphQLSocket(websocket_application(schema), cookie=None)
    await socket.connect(init=False)
    await socket.send({"type": "connection_init", "payload": {"token": "forged"}})
    assert await socket.closed_with() == 4403


async def test_a_client_that_went_away_is_not_an_error(caplog: pytest.LogCaptureFixture):
    """A tab closed while its task was sending: routine, so no traceback in the server's log."""
    from uvicorn.protocols.utils import ClientDisconnected

    from user_tasks_graphql.consumers import TransportWSHandler

    handler = TransportWSHandler.__new__(TransportWSHandler)
    caplog.set_level(logging.DEBUG)
    closed = RuntimeError("Unexpected ASGI message 'websocket.send', after sending 'websocket.close'.")
    for error in (ClientDisconnected(), closed):
        await handler.handle_task_exception(error)
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]
    await handler.handle_task_exception(ValueError("a real bug"))
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR] == ["Exception in worker task"]
