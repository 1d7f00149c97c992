"""USER_TASKS_WS_MAX_CONNECTIONS_PER_USER on a real uvicorn process, over both subprotocols: the
socket over the limit is refused with 4429 (graphql-ws: a ``connection_error`` first), the user's
other sockets keep receiving events, a socket the server closes gives its slot back, another user
is served, and the real ``graphql-ws`` client does not retry the refusal, however eager its
retry settings."""

from __future__ import annotations

import contextlib
import json
import subprocess
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from websockets import ConnectionClosed

from tests.integration.conftest import REPO, Server, session_cookie
from user_tasks_graphql.models import UserTaskStatus

from .wsclient import LEGACY_WS, STATUS, TRANSPORT_WS, Health, Socket, assert_clean, running_server

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

LIMIT = 50  # the documented default
REFUSAL = {"message": "Too many connections", "extensions": {"code": "FORBIDDEN"}}
CLIENTS = REPO / "tests" / "js"


@pytest.fixture(scope="module")
def quota_server(services: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    directory: Path = tmp_path_factory.mktemp("socket-quota")
    env = {"DJANGO_SETTINGS_MODULE": "tests.reliability.socket_quota_settings",
           "TEST_WS_MAX_CONNECTIONS_PER_USER": str(LIMIT),
           "TEST_USER_TASKS_WS_AUTHENTICATE": "example_site.ws_tokens.websocket_user"}  # fmt: skip
    with running_server(services, directory, **env) as running:
        yield running


@dataclass
class Attacker:
    server: Server
    user: Any
    cookie: str
    status: UserTaskStatus
    health: Health

    def socket(self, protocol: str) -> Socket:
        return Socket(self.server, self.cookie, protocol=protocol)

    def refusals_logged(self) -> int:
        return self.server.output().count(f"Refused a websocket of user {self.user.pk}:")


@pytest.fixture
def attacker(quota_server: Server) -> Attacker:
    user = get_user_model().objects.create_user(f"many-tabs-{uuid.uuid4().hex[:8]}")
    status = UserTaskStatus.objects.create(user=user, task_id=str(uuid.uuid4()), task_class="demo.demo_task",
                                           name="export", total_steps=2, state="In Progress")  # fmt: skip
    return Attacker(quota_server, user, session_cookie(user), status, Health(quota_server))


@contextlib.contextmanager
def held_sockets(attacker: Attacker, protocol: str) -> Iterator[list[Socket]]:
    """The limit of the attacker's sockets, each acknowledged and following the attacker's task."""
    with contextlib.ExitStack() as stack:
        held = [stack.enter_context(attacker.socket(protocol)) for _ in range(LIMIT)]
        for socket in held:
            socket.init()
            socket.subscribe("1", STATUS, {"u": str(attacker.status.uuid)})
            assert socket.next_payload("1")["data"]["userTaskStatus"]["stateText"] == "In Progress"
        yield held


def assert_refused(socket: Socket, then_subscribe: bool = False) -> None:
    socket.send({"type": "connection_init", "payload": {}})
    if then_subscribe:  # before reading the refusal, as a hostile client would
        # mostly it reaches the server after the refusal (the close must not be sent twice, or
        # uvicorn raises in the handler); when the close comes first, this client cannot send it
        with contextlib.suppress(ConnectionClosed):
            socket.subscribe("1", STATUS, {"u": str(uuid.uuid4())})
    if socket.protocol == LEGACY_WS:
        assert socket.receive() == {"type": "connection_error", "payload": REFUSAL}
    assert socket.closed_with() == 4429
    assert socket.close_reason == "Too many connections"


@pytest.mark.parametrize("protocol", [TRANSPORT_WS, LEGACY_WS])
def test_the_socket_over_the_limit_is_refused_and_the_others_are_served(attacker: Attacker, protocol: str):
    with held_sockets(attacker, protocol) as held:
        with attacker.socket(protocol) as over:
            assert_refused(over)
        with attacker.socket(protocol) as over:
            assert_refused(over, then_subscribe=True)
        attacker.status.set_state("still served")
        for socket in held:
            assert socket.next_payload("1")["data"]["userTaskStatus"]["stateText"] == "still served"

        # a socket the server closes gives its slot back before its client has even read the close
        held[0].send_raw(b"\x00binary")
        assert held[0].closed_with() == (4400 if protocol == TRANSPORT_WS else 1002)
        with attacker.socket(protocol) as again, attacker.socket(protocol) as over:
            again.init()  # takes the freed slot...
            assert_refused(over)  # ...and only it
        for socket in held:
            assert_clean(socket.text())
        attacker.health.check()  # another user: a new socket, a snapshot, a live event; no fault logged
    assert attacker.refusals_logged() == 3, "one warning per refusal"


def graphql_ws_client(server: Server, cookie: str, connection_params: dict[str, Any]) -> dict[str, Any]:
    """What the real client reports: its connection attempts and how its subscription failed."""
    assert (CLIENTS / "node_modules").exists(), "run `make test` (it installs the JavaScript clients with npm)"
    run = subprocess.run(["node", str(CLIENTS / "refused.mjs"), server.ws, server.http, f"sessionid={cookie}",
                          "subscription { userTaskStatuses { name } }", json.dumps(connection_params), "20", "1500"],
                         capture_output=True, text=True, timeout=90)  # fmt: skip
    assert run.returncode == 0, run.stderr
    report: dict[str, Any] = json.loads(run.stdout)
    return report


def test_the_graphql_ws_client_does_not_retry_the_refusal(attacker: Attacker):
    """20 retries allowed with no wait between them: a code the client retries would open 21 sockets
    (as a refused token, 4403, does), 4429 opens one."""
    with held_sockets(attacker, TRANSPORT_WS):
        refused = graphql_ws_client(attacker.server, attacker.cookie, {})
        assert refused == {"connecting": 1, "error": {"code": 4429, "reason": "Too many connections"}}
        forged = graphql_ws_client(attacker.server, attacker.cookie, {"token": "forged"})
        assert forged == {"connecting": 21, "error": {"code": 4403, "reason": "Forbidden"}}
    assert attacker.refusals_logged() == 1
