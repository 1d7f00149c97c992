"""Generated GraphQL documents (hypothesis-graphql, from the example site's schema) sent over the
websocket of a real uvicorn process: queries, mutations and subscriptions, by another user than the
owner of the tasks, invalid ones, anonymous ones, and over both subprotocols.

Every answer carries contract error codes only, nothing internal and nothing of the owner's, the
owner's rows never change, and the server still serves a new client afterwards. One connection
carries many documents (as a browser's would); a document that closes it (a protocol-level refusal)
is followed by a new connection.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import graphql
import pytest
from django.contrib.auth import get_user_model
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis_graphql import Mode, from_schema
from websockets import ConnectionClosed

from example_site.demo.schema import schema
from tests.integration.conftest import Server, session_cookie

from .wsclient import (
    CODES,
    LEGACY_WS,
    TERMINAL,
    TRANSPORT_WS,
    Health,
    Socket,
    assert_clean,
    errors_of,
    owned_tasks,
    rows_of,
    running_server,
)

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

SDL = schema.as_str()
SUBSCRIPTION_SDL = SDL + "\nschema { query: Subscription }\n"  # generate the Subscription type's fields
REAL = graphql.build_schema(SDL)
MAX_TOKENS = 2000  # USER_TASKS_GRAPHQL_MAX_TOKENS' default: longer documents are syntax errors
MARKER = "ALICE-PRIVATE"

# the world's rows have these uuids, so generated documents hit real tasks as often as missing ones
ALICE_UUIDS = [uuid.UUID(int=n) for n in range(1, 4)]
BOB_UUIDS = [uuid.UUID(int=n) for n in range(4, 7)]


def _string(value: str) -> graphql.StringValueNode:
    return graphql.StringValueNode(value=value)


SCALARS = {
    "UUID": (st.sampled_from(ALICE_UUIDS + BOB_UUIDS) | st.uuids()).map(lambda u: _string(str(u))),
    "DateTime": st.datetimes(timezones=st.timezones()).map(lambda d: _string(d.isoformat())),
}


def _as_subscription(document: graphql.DocumentNode) -> str:
    """hypothesis-graphql builds queries only: the same selection, as a subscription."""
    printed = graphql.print_ast(document)
    return f"subscription {printed}" if printed.startswith("{") else printed.replace("query", "subscription", 1)


def documents(mode: Mode = Mode.POSITIVE, subscriptions: float = 0.3) -> st.SearchStrategy[str]:
    """Queries and mutations, and subscriptions about ``subscriptions`` of the time."""
    operations = from_schema(SDL, custom_scalars=SCALARS, mode=mode)
    live = from_schema(SUBSCRIPTION_SDL, custom_scalars=SCALARS, mode=mode, print_ast=_as_subscription)
    if mode == Mode.NEGATIVE:  # few invalid subscription documents exist: mix in valid ones made invalid
        live = live | from_schema(SUBSCRIPTION_SDL, custom_scalars=SCALARS, print_ast=_as_subscription).map(
            lambda text: text.replace("{", "{ noSuchField ", 2)
        )
    return st.integers(0, 99).flatmap(lambda n: live if n < subscriptions * 100 else operations)


VALID = CODES - {"INTERNAL_SERVER_ERROR"}  # an internal error for a generated document is a bug


@dataclass
class Expectation:
    """What the server must do with a document, known before sending it."""

    closes: bool  # too many tokens: a syntax error, which closes graphql-transport-ws with 4400
    stays_open: bool  # a valid subscription that waits for events: the test completes it


def expect(document: str, viewer_uuids: list[uuid.UUID], authenticated: bool, protocol: str) -> Expectation:
    try:
        parsed = graphql.parse(document, max_tokens=MAX_TOKENS)
    except graphql.GraphQLSyntaxError:
        return Expectation(closes=protocol == TRANSPORT_WS, stays_open=False)
    operation = parsed.definitions[0]
    assert isinstance(operation, graphql.OperationDefinitionNode)
    if operation.operation != graphql.OperationType.SUBSCRIPTION or graphql.validate(REAL, parsed):
        return Expectation(closes=False, stays_open=False)
    (root,) = operation.selection_set.selections
    assert isinstance(root, graphql.FieldNode)
    if root.name.value == "userTaskStatuses":  # never completes on its own
        return Expectation(closes=False, stays_open=authenticated)
    arguments = {argument.name.value: argument.value for argument in root.arguments or ()}
    if root.name.value == "userTaskStatusChanges":  # never completes, unless its `since` is refused
        since = arguments.get("since")
        return Expectation(
            closes=False, stays_open=authenticated and (since is None or isinstance(since, graphql.NullValueNode))
        )
    target = arguments.get("uuid")
    own = isinstance(target, graphql.StringValueNode) and target.value in {str(u) for u in viewer_uuids}
    return Expectation(closes=False, stays_open=authenticated and own)  # a snapshot, then events


@dataclass
class Fuzzer:
    """Sends documents one at a time over one socket (a new one after a close) and checks every frame."""

    server: Server
    cookie: str | None
    protocol: str
    viewer_uuids: list[uuid.UUID]
    socket: Socket | None = None
    sent: int = 0
    closes: dict[int, int] = field(default_factory=dict)
    codes: dict[str, int] = field(default_factory=dict)

    def connect(self) -> Socket:
        if self.socket is None:
            self.socket = Socket(self.server, self.cookie, self.protocol, max_size=None)
            self.socket.init()
        return self.socket

    def close(self) -> None:
        if self.socket is not None:
            self.socket.ws.close()
            self.socket = None

    def check(self, message: dict[str, Any], document: str) -> None:
        assert message["type"] in {"next", "data", "error", "complete"}, message
        for error in errors_of(message):
            code = error.get("extensions", {}).get("code")
            assert code in VALID, f"{error} for:\n{document}"
            self.codes[code] = self.codes.get(code, 0) + 1

    def run(self, document: str) -> None:
        expectation = expect(document, self.viewer_uuids, self.cookie is not None, self.protocol)
        socket = self.connect()
        self.sent += 1
        seen_before = len(socket.received)
        closed = None
        try:
            self._exchange(socket, f"op{self.sent}", document, expectation)
        except ConnectionClosed as exc:
            closed, self.socket = exc, None
        text = "\n".join(socket.received[seen_before:])
        assert_clean(text)
        assert MARKER not in text, f"the owner's data reached another client with:\n{document}\n{text[:2000]}"
        if closed is None:
            assert not expectation.closes, f"expected a 4400 close for:\n{document}"
            return
        frame = closed.rcvd
        assert frame is not None, f"dropped without a close frame after:\n{document}"
        assert (frame.code, expectation.closes) == (4400, True), f"{frame} after:\n{document}"
        assert_clean(frame.reason)
        self.closes[frame.code] = self.closes.get(frame.code, 0) + 1

    def _exchange(self, socket: Socket, op_id: str, document: str, expectation: Expectation) -> None:
        socket.subscribe(op_id, document)
        if not expectation.stays_open:
            while True:
                message = socket.receive(timeout=20)
                self.check(message, document)
                if message.get("id") == op_id and message["type"] in TERMINAL:
                    return
        with contextlib.suppress(TimeoutError):
            while True:  # a snapshot or an early error, then quiet: stop listening
                message = socket.receive(timeout=0.15)
                self.check(message, document)
                if message.get("id") == op_id and message["type"] in TERMINAL:
                    return
        socket.stop(op_id)


@pytest.fixture(scope="module")
def fuzz_server(services: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with running_server(services, tmp_path_factory.mktemp("ws-fuzz")) as running:
        yield running


@dataclass
class World:
    """Alice owns the tasks under attack; bob (another user) and anonymous clients send the documents."""

    server: Server
    alice: Any
    bob: Any
    before: list[tuple[Any, ...]]
    health: Health
    fuzzers: list[Fuzzer] = field(default_factory=list)

    def fuzzer(self, user: Any | None, protocol: str = TRANSPORT_WS) -> Fuzzer:
        cookie = session_cookie(user) if user is not None else None
        made = Fuzzer(self.server, cookie, protocol, BOB_UUIDS if user == self.bob else [])
        self.fuzzers.append(made)
        return made

    def unchanged(self) -> None:
        assert rows_of(self.alice) == self.before, "another client changed the owner's tasks"

    def verify(self, fuzzer: Fuzzer, examples: int) -> None:
        """After the run: every document was answered, and the server still serves a new client."""
        fuzzer.close()
        assert fuzzer.sent >= examples * 9 // 10, f"hypothesis sent {fuzzer.sent} documents of {examples}"
        self.unchanged()
        self.health.check()


@pytest.fixture
def world(fuzz_server: Server) -> Iterator[World]:
    users = get_user_model().objects
    alice, bob = users.create_user("alice"), users.create_user("bob")
    owned_tasks(alice, MARKER, ALICE_UUIDS)
    owned_tasks(bob, "bob's", BOB_UUIDS)
    made = World(fuzz_server, alice, bob, rows_of(alice), Health(fuzz_server))
    yield made
    for fuzzer in made.fuzzers:
        fuzzer.close()


def send_generated(world: World, fuzzer: Fuzzer, strategy: st.SearchStrategy[str], examples: int) -> None:
    """Send ``examples`` generated documents through ``fuzzer``, checking the owner's rows after each."""

    @settings(max_examples=examples, deadline=None, suppress_health_check=list(HealthCheck))
    @given(document=strategy)
    def one(document: str) -> None:
        fuzzer.run(document)
        world.unchanged()

    one()
    world.verify(fuzzer, examples)


def test_generated_operations_as_another_user(world: World):
    """Queries, mutations (cancel, delete, start) and subscriptions on alice's tasks, sent by bob."""
    fuzzer = world.fuzzer(world.bob)
    send_generated(world, fuzzer, documents(), 400)
    assert "NOT_FOUND" in fuzzer.codes, "no generated document asked for a task bob may not see"


def test_generated_invalid_documents(world: World):
    """Documents with one schema violation each: a coded BAD_USER_INPUT, never an internal error."""
    fuzzer = world.fuzzer(world.bob)
    send_generated(world, fuzzer, documents(Mode.NEGATIVE), 250)
    assert set(fuzzer.codes) == {"BAD_USER_INPUT"}, fuzzer.codes


def test_generated_documents_anonymous(world: World):
    """No session cookie: UNAUTHENTICATED (or BAD_USER_INPUT), and nothing of anyone's tasks."""
    fuzzer = world.fuzzer(None)
    send_generated(world, fuzzer, documents(), 150)
    assert set(fuzzer.codes) <= {"UNAUTHENTICATED", "BAD_USER_INPUT"}, fuzzer.codes
    assert fuzzer.codes.get("UNAUTHENTICATED"), fuzzer.codes


def test_generated_documents_over_legacy_graphql_ws(world: World):
    """The legacy protocol runs subscriptions only: queries and mutations get BAD_USER_INPUT."""
    fuzzer = world.fuzzer(world.bob, LEGACY_WS)
    send_generated(world, fuzzer, documents(subscriptions=0.7) | documents(Mode.NEGATIVE, subscriptions=0.7), 200)
    assert {"NOT_FOUND", "BAD_USER_INPUT"} <= set(fuzzer.codes), fuzzer.codes
